/**
 * The embedded default {@link Store}: one SQLite file through better-sqlite3, in WAL mode, so the
 * emulator and the CLI can share a data dir (the CLI writes, the running emulator sees it at once).
 *
 * Exported from the subpath `@eyepop/auth-core/sqlite` so that the main entry point does not load
 * a native module. Statements are prepared once. The schema is versioned (`PRAGMA user_version`)
 * and migrated forward at open, inside a transaction.
 *
 * @module
 */
import { chmodSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { startBackgroundCheckpointer, type BackgroundCheckpointer } from './sqlite-checkpointer.js'
import type { JWK } from 'jose'
import { Conflict, NotFound, StoreError } from '../errors.js'
import { resolveListAuditOptions } from './list-audit-options.js'
import type {
  AccountRecord,
  ApiKeyRecord,
  AuditEvent,
  AuditEventInput,
  AuditEventType,
  OidcPayload,
  PopRecord,
  SigningKeyRecord,
  Store,
} from './types.js'
import { resolveRevocationPageLimit } from './types.js'

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file; its folder is created if missing. `:memory:` for a private database. */
  filename: string
  /** The clock used to expire oidc-provider artifacts (ms). Default is `Date.now`. */
  now?: () => number
  /** How long (in milliseconds) a writer waits for another process's lock. Default is 5000. */
  busyTimeoutMs?: number
  /**
   * Where the WAL is checkpointed into the database file: `inline`, SQLite's automatic checkpoint
   * inside the commit that crosses 1,000 WAL pages (default: right for a short-lived process such
   * as a CLI command); or `background`, on a worker thread of its own every `checkpointIntervalMs`
   * (for a server: the event loop never waits for a checkpoint). Ignored for `:memory:`.
   */
  checkpoint?: 'inline' | 'background'
  /** How often (in milliseconds) a `background` checkpoint runs. Default is 1000. */
  checkpointIntervalMs?: number
}

/**
 * The schema migrations, in order. `PRAGMA user_version` records how many have run. Never edit a
 * migration that has shipped: append a new one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    deleted_at INTEGER,
    revocation_seq INTEGER UNIQUE
  ) STRICT;
  CREATE INDEX api_keys_account ON api_keys(account_id, created_at);
  CREATE TABLE pops (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX pops_account ON pops(account_id, created_at);
  CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
  ) STRICT;
  CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  CREATE TABLE oidc_artifacts (
    model TEXT NOT NULL,
    id TEXT NOT NULL,
    payload TEXT NOT NULL,
    uid TEXT,
    user_code TEXT,
    grant_id TEXT,
    expires_at INTEGER,
    PRIMARY KEY (model, id)
  ) STRICT;
  CREATE INDEX oidc_artifacts_uid ON oidc_artifacts(model, uid);
  CREATE INDEX oidc_artifacts_user_code ON oidc_artifacts(model, user_code);
  CREATE INDEX oidc_artifacts_grant ON oidc_artifacts(grant_id);
  `,
  // 2: one ordered revocation feed for deleted keys and single revoked tokens (RFC 7009).
  // api_keys.revocation_seq is kept for old rows and no longer written.
  `
  CREATE TABLE revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('key', 'token')),
    subject TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER,
    UNIQUE (kind, subject)
  ) STRICT;
  INSERT INTO revocations (seq, kind, subject, revoked_at)
    SELECT revocation_seq, 'key', id, deleted_at FROM api_keys
    WHERE revocation_seq IS NOT NULL ORDER BY revocation_seq;
  `,
  // 3: password sign-in. Existing accounts get NULL (no password) until one is set.
  `
  ALTER TABLE accounts ADD COLUMN password_hash TEXT;
  `,
  // 4: the audit log of key events, read per account, newest first.
  `
  CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    key_id TEXT,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    detail TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_events_account ON audit_events(account_id, id);
  `,
  // 5: keys stored in the order of their hash (a WITHOUT ROWID table), so that authenticating a
  // key reads one B-tree, not the hash index and then the table: in a store of 100,000 keys, half
  // the pages touched per lookup. The unused revocation_seq column (moved to the feed by
  // migration 2) is dropped.
  `
  CREATE TABLE api_keys_by_hash (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    deleted_at INTEGER
  ) STRICT, WITHOUT ROWID;
  INSERT INTO api_keys_by_hash (hash, id, account_id, name, hint, created_at, expires_at, last_used_at, deleted_at)
    SELECT hash, id, account_id, name, hint, created_at, expires_at, last_used_at, deleted_at FROM api_keys;
  DROP TABLE api_keys;
  ALTER TABLE api_keys_by_hash RENAME TO api_keys;
  CREATE INDEX api_keys_account ON api_keys(account_id, created_at);
  `,
  // 6: an account's live keys in an index of their own, so counting them (the per-account cap, on
  // every creation) and listing them read the live keys only, not every key the account ever
  // deleted: deleted keys are kept (their hash refuses them as revoked, their audit stays readable),
  // so an account that creates and deletes keys in a loop piles up thousands.
  `
  CREATE INDEX api_keys_live ON api_keys(account_id, created_at, id) WHERE deleted_at IS NULL;
  `,
]

/** The schema version this code writes. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length

interface AuditEventRow {
  id: number
  account_id: string
  key_id: string | null
  type: AuditEventType
  at: number
  detail: string
}

interface SigningKeyRow {
  kid: string
  alg: 'EdDSA' | 'ES256'
  private_jwk: string
  public_jwk: string
  created_at: number
  retired_at: number | null
}

/** The columns every read of `api_keys` selects, as an array (cheaper than an object per row). */
const API_KEY_COLUMNS = 'id, account_id, name, hash, hint, created_at, expires_at, last_used_at, deleted_at'
type ApiKeyRow = [string, string, string, string, string, number, number | null, number | null, number | null]

function toApiKey(row: ApiKeyRow | undefined): ApiKeyRecord | undefined {
  if (!row) return undefined
  const [id, accountId, name, hash, hint, createdAt, expiresAt, lastUsedAt, deletedAt] = row
  return { id, accountId, name, hash, hint, createdAt, expiresAt, lastUsedAt, deletedAt }
}

function toSigningKey(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    privateJwk: JSON.parse(row.private_jwk) as JWK,
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  }
}

function toAccount(row: Record<string, unknown> | undefined): AccountRecord | undefined {
  if (!row) return undefined
  return {
    id: row.id as string,
    email: row.email as string,
    name: row.name as string,
    createdAt: row.created_at as number,
    passwordHash: (row.password_hash as string | null) ?? null,
  }
}

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    accountId: row.account_id,
    keyId: row.key_id,
    type: row.type,
    at: row.at,
    detail: JSON.parse(row.detail) as Record<string, string>,
  }
}

function toPop(row: Record<string, unknown> | undefined): PopRecord | undefined {
  if (!row) return undefined
  return {
    id: row.id as string,
    accountId: row.account_id as string,
    name: row.name as string,
    createdAt: row.created_at as number,
  }
}

/** Runs `fn`, turning SQLite's unique-constraint failure into `Conflict`. */
function insert(fn: () => unknown, what: string): void {
  try {
    fn()
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      throw new NotFound(`${what} refers to a record that does not exist`, { cause: err })
    }
    if (code?.startsWith('SQLITE_CONSTRAINT')) {
      throw new Conflict(`${what} already exists`, { cause: err })
    }
    throw err
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SQLITE_MIGRATIONS.length) {
    throw new StoreError(
      `database schema version ${version} is newer than this software supports (${SQLITE_MIGRATIONS.length})`,
    )
  }
  if (version === SQLITE_MIGRATIONS.length) return
  // BEGIN IMMEDIATE takes the write lock first, so two processes opening a new file at once
  // cannot both run the same migration.
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number
    for (let i = current; i < SQLITE_MIGRATIONS.length; i++) db.exec(SQLITE_MIGRATIONS[i]!)
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`)
  }).immediate()
}

/**
 * Opens (creating and migrating as needed) a SQLite store.
 *
 * @example
 * ```ts
 * import { createSqliteStore } from '@eyepop/auth-core/sqlite'
 * const store = createSqliteStore({ filename: '.eyepop-emulator/emulator.db' })
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const now = options.now ?? Date.now
  const onDisk = options.filename !== ':memory:' && options.filename !== ''
  // The file holds the key-hash pepper and the private signing keys: owner only.
  if (onDisk) mkdirSync(dirname(options.filename), { recursive: true, mode: 0o700 })
  let db: Database.Database
  try {
    db = new Database(options.filename, { timeout: options.busyTimeoutMs ?? 5000 })
    try {
      if (onDisk) chmodSync(options.filename, 0o600)
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      // Reads through a memory map: a key lookup in a large store costs no read() call per page.
      db.pragma('mmap_size = 268435456')
      db.pragma('foreign_keys = ON')
      migrate(db)
    } catch (err) {
      // A refused or unreadable file must not stay open (holding its WAL) behind the error.
      db.close()
      throw err
    }
  } catch (err) {
    if (err instanceof StoreError) throw err
    throw new StoreError('cannot open the sqlite store', { cause: err })
  }

  // SQLite's default: the commit that crosses this many WAL pages checkpoints inline.
  const AUTO_CHECKPOINT_PAGES = 1000
  let checkpointer: BackgroundCheckpointer | undefined
  if (onDisk && options.checkpoint === 'background') {
    db.pragma('wal_autocheckpoint = 0')
    checkpointer = startBackgroundCheckpointer(options.filename, {
      intervalMs: options.checkpointIntervalMs ?? 1000,
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      truncatePages: AUTO_CHECKPOINT_PAGES,
      // Without its thread the WAL would grow without bound: checkpoint inline again.
      onExit: () => {
        checkpointer = undefined
        if (db.open) db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`)
      },
    })
  }

  const s = {
    accountInsert: db.prepare(
      `INSERT INTO accounts (id, email, name, created_at, password_hash)
       VALUES (@id, @email, @name, @createdAt, @passwordHash)`,
    ),
    accountSetPassword: db.prepare('UPDATE accounts SET password_hash = @hash WHERE id = @id'),
    accountGet: db.prepare('SELECT * FROM accounts WHERE id = ?'),
    accountByEmail: db.prepare('SELECT * FROM accounts WHERE email = ?'),
    accountList: db.prepare('SELECT * FROM accounts ORDER BY created_at, id'),
    keyInsert: db.prepare(
      `INSERT INTO api_keys (id, account_id, name, hash, hint, created_at, expires_at, last_used_at, deleted_at)
       VALUES (@id, @accountId, @name, @hash, @hint, @createdAt, @expiresAt, @lastUsedAt, @deletedAt)`,
    ),
    keyGet: db.prepare<[string], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`).raw(true),
    keyByHash: db.prepare<[string], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = ?`).raw(true),
    keyList: db
      .prepare<[string], ApiKeyRow>(
        `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE account_id = ? AND deleted_at IS NULL ORDER BY created_at, id`,
      )
      .raw(true),
    keyListAll: db
      .prepare<[string], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY created_at, id`)
      .raw(true),
    keyCountLive: db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM api_keys WHERE account_id = ? AND deleted_at IS NULL',
    ),
    keyDelete: db.prepare('UPDATE api_keys SET deleted_at = @at WHERE id = @id AND deleted_at IS NULL'),
    revocationInsert: db.prepare(
      `INSERT OR IGNORE INTO revocations (kind, subject, revoked_at, expires_at)
       VALUES (@kind, @subject, @at, @expiresAt)`,
    ),
    revocationSince: db.prepare<
      [number, number],
      { seq: number; kind: 'key' | 'token'; subject: string; revoked_at: number; expires_at: number | null }
    >('SELECT * FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?'),
    tokenRevoked: db.prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM revocations WHERE kind = 'token' AND subject = ?",
    ),
    revocationPurge: db.prepare("DELETE FROM revocations WHERE kind = 'token' AND expires_at <= ?"),
    keyUse: db.prepare(
      `UPDATE api_keys SET last_used_at = @at
       WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)`,
    ),
    popInsert: db.prepare(
      'INSERT INTO pops (id, account_id, name, created_at) VALUES (@id, @accountId, @name, @createdAt)',
    ),
    popGet: db.prepare('SELECT * FROM pops WHERE id = ?'),
    popList: db.prepare('SELECT * FROM pops WHERE account_id = ? ORDER BY created_at, id'),
    signingInsert: db.prepare(
      `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, retired_at)
       VALUES (@kid, @alg, @privateJwk, @publicJwk, @createdAt, @retiredAt)`,
    ),
    signingList: db.prepare<[], SigningKeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    signingRetire: db.prepare(
      'UPDATE signing_keys SET retired_at = @at WHERE kid <> @kid AND retired_at IS NULL',
    ),
    signingPrune: db.prepare('DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?'),
    settingGet: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE name = ?'),
    settingInsert: db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)'),
    oidcUpsert: db.prepare(
      `INSERT OR REPLACE INTO oidc_artifacts (model, id, payload, uid, user_code, grant_id, expires_at)
       VALUES (@model, @id, @payload, @uid, @userCode, @grantId, @expiresAt)`,
    ),
    oidcFind: db.prepare<[string, string, number], { payload: string }>(
      `SELECT payload FROM oidc_artifacts
       WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)`,
    ),
    oidcByUid: db.prepare<[string, string, number], { payload: string }>(
      `SELECT payload FROM oidc_artifacts
       WHERE model = ? AND uid = ? AND (expires_at IS NULL OR expires_at > ?)`,
    ),
    oidcByUserCode: db.prepare<[string, string, number], { payload: string }>(
      `SELECT payload FROM oidc_artifacts
       WHERE model = ? AND user_code = ? AND (expires_at IS NULL OR expires_at > ?)`,
    ),
    oidcConsume: db.prepare(
      `UPDATE oidc_artifacts SET payload = json_set(payload, '$.consumed', ?)
       WHERE model = ? AND id = ?`,
    ),
    oidcDestroy: db.prepare('DELETE FROM oidc_artifacts WHERE model = ? AND id = ?'),
    oidcRevokeGrant: db.prepare('DELETE FROM oidc_artifacts WHERE grant_id = ?'),
    auditInsert: db.prepare(
      `INSERT INTO audit_events (account_id, key_id, type, at, detail)
       VALUES (@accountId, @keyId, @type, @at, @detail)`,
    ),
    auditList: db.prepare<[string, number, number], AuditEventRow>(
      'SELECT * FROM audit_events WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
    ),
    auditListByKey: db.prepare<[string, string, number, number], AuditEventRow>(
      'SELECT * FROM audit_events WHERE account_id = ? AND key_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
    ),
    oidcPurge: db.prepare('DELETE FROM oidc_artifacts WHERE expires_at IS NOT NULL AND expires_at <= ?'),
  }

  const deleteKey = db.transaction((id: string, at: number): boolean => {
    if (s.keyDelete.run({ id, at }).changes !== 1) return false
    s.revocationInsert.run({ kind: 'key', subject: id, at, expiresAt: null })
    return true
  })
  const recordUses = db.transaction((uses: ReadonlyArray<{ id: string; at: number }>) => {
    for (const use of uses) s.keyUse.run(use)
  })
  const purgeExpired = db.transaction((): number => {
    const at = now()
    return s.oidcPurge.run(at).changes + s.revocationPurge.run(at).changes
  })
  const appendAudit = db.transaction((events: readonly AuditEventInput[]) => {
    for (const event of events) {
      s.auditInsert.run({
        accountId: event.accountId,
        keyId: event.keyId,
        type: event.type,
        at: event.at,
        detail: JSON.stringify(event.detail),
      })
    }
  })
  /**
   * Lookups by hash (one per token request) issued in the same turn of the event loop, read
   * together at its end (`setImmediate`) in one read transaction. Each statement outside a
   * transaction is a transaction of its own, and starting one costs more than the lookup itself
   * (the WAL read lock is two `fcntl` calls; then a size check of the mapped file): under load,
   * many requests arrive per turn and share that cost. A lookup still reads the store as it is
   * after the request that asked for it, never an older state.
   */
  let lookups: Array<{ hash: string; resolve: (r: ApiKeyRecord | undefined) => void; reject: (e: unknown) => void }> = []
  const readKeys = db.transaction((hashes: readonly string[]) => hashes.map((hash) => s.keyByHash.get(hash)))
  const flushLookups = () => {
    const batch = lookups
    lookups = []
    if (batch.length === 0) return
    try {
      const rows = batch.length === 1 ? [s.keyByHash.get(batch[0]!.hash)] : readKeys(batch.map((l) => l.hash))
      for (const [i, lookup] of batch.entries()) lookup.resolve(toApiKey(rows[i]))
    } catch (err) {
      for (const lookup of batch) lookup.reject(err)
    }
  }
  const parsePayload = (row: { payload: string } | undefined) =>
    row ? (JSON.parse(row.payload) as OidcPayload) : undefined
  let closed = false

  return {
    description: `sqlite:${options.filename}`,
    accounts: {
      async create(record) {
        const { id, email, name, createdAt } = record
        insert(() => s.accountInsert.run({ id, email, name, createdAt, passwordHash: record.passwordHash ?? null }), 'account')
      },
      async get(id) {
        return toAccount(s.accountGet.get(id) as Record<string, unknown> | undefined)
      },
      async findByEmail(email) {
        return toAccount(s.accountByEmail.get(email) as Record<string, unknown> | undefined)
      },
      async list() {
        return (s.accountList.all() as Record<string, unknown>[]).map((row) => toAccount(row)!)
      },
      async setPasswordHash(id, hash) {
        return s.accountSetPassword.run({ id, hash }).changes === 1
      },
    },
    apiKeys: {
      async create(record) {
        insert(() => s.keyInsert.run(record), 'api key')
      },
      async get(id) {
        return toApiKey(s.keyGet.get(id))
      },
      findByHash(hash) {
        if (closed) return Promise.reject(new StoreError('the store is closed'))
        return new Promise((resolve, reject) => {
          if (lookups.length === 0) setImmediate(flushLookups)
          lookups.push({ hash, resolve, reject })
        })
      },
      async list(accountId, listOptions = {}) {
        const rows = (listOptions.includeDeleted ? s.keyListAll : s.keyList).all(accountId)
        return rows.map((row) => toApiKey(row)!)
      },
      async countLive(accountId) {
        return s.keyCountLive.get(accountId)?.n ?? 0
      },
      async markDeleted(id, at) {
        return deleteKey(id, at)
      },
      async recordUse(uses) {
        if (uses.length > 0) recordUses(uses)
      },
    },
    revocations: {
      async revokeToken(jti, expiresAt, at) {
        return s.revocationInsert.run({ kind: 'token', subject: jti, at, expiresAt }).changes === 1
      },
      async isTokenRevoked(jti) {
        return (s.tokenRevoked.get(jti)?.n ?? 0) > 0
      },
      async since(cursor, limit) {
        const pageLimit = resolveRevocationPageLimit(limit)
        // One row more than the page tells whether another page follows.
        const rows = s.revocationSince.all(cursor, pageLimit + 1)
        const more = rows.length > pageLimit
        if (more) rows.pop()
        return {
          revoked: rows
            .filter((row) => row.kind === 'key')
            .map((row) => ({ id: row.subject, deletedAt: row.revoked_at })),
          revokedTokens: rows
            .filter((row) => row.kind === 'token')
            .map((row) => ({ jti: row.subject, revokedAt: row.revoked_at, expiresAt: row.expires_at ?? 0 })),
          cursor: rows.length > 0 ? rows[rows.length - 1]!.seq : cursor,
          more,
        }
      },
    },
    pops: {
      async create(record) {
        insert(() => s.popInsert.run(record), 'pop')
      },
      async get(id) {
        return toPop(s.popGet.get(id) as Record<string, unknown> | undefined)
      },
      async list(accountId) {
        return (s.popList.all(accountId) as Record<string, unknown>[]).map((row) => toPop(row)!)
      },
    },
    signingKeys: {
      async create(record) {
        insert(
          () =>
            s.signingInsert.run({
              ...record,
              privateJwk: JSON.stringify(record.privateJwk),
              publicJwk: JSON.stringify(record.publicJwk),
            }),
          'signing key',
        )
      },
      async list() {
        return s.signingList.all().map(toSigningKey)
      },
      async retireAllExcept(kid, at) {
        s.signingRetire.run({ kid, at })
      },
      async prune(before) {
        return s.signingPrune.run(before).changes
      },
    },
    settings: {
      async get(name) {
        return s.settingGet.get(name)?.value
      },
      async setIfAbsent(name, value) {
        s.settingInsert.run(name, value)
        return s.settingGet.get(name)!.value
      },
    },
    oidc: {
      async upsert(model, id, payload, expiresInSeconds) {
        s.oidcUpsert.run({
          model,
          id,
          payload: JSON.stringify(payload),
          uid: payload.uid ?? null,
          userCode: payload.userCode ?? null,
          grantId: payload.grantId ?? null,
          expiresAt: expiresInSeconds ? now() + expiresInSeconds * 1000 : null,
        })
      },
      async find(model, id) {
        return parsePayload(s.oidcFind.get(model, id, now()))
      },
      async findByUid(model, uid) {
        return parsePayload(s.oidcByUid.get(model, uid, now()))
      },
      async findByUserCode(model, userCode) {
        return parsePayload(s.oidcByUserCode.get(model, userCode, now()))
      },
      async consume(model, id) {
        s.oidcConsume.run(Math.floor(now() / 1000), model, id)
      },
      async destroy(model, id) {
        s.oidcDestroy.run(model, id)
      },
      async revokeByGrantId(grantId) {
        s.oidcRevokeGrant.run(grantId)
      },
    },
    audit: {
      async append(events) {
        if (events.length > 0) appendAudit(events)
      },
      async list(accountId, listOptions) {
        const { limit, before, keyId } = resolveListAuditOptions(listOptions)
        const rows =
          keyId === undefined
            ? s.auditList.all(accountId, before, limit)
            : s.auditListByKey.all(accountId, keyId, before, limit)
        return rows.map(toAuditEvent)
      },
    },
    async purgeExpired() {
      if (closed) throw new StoreError('the store is closed')
      return purgeExpired()
    },
    async close() {
      if (closed) return
      flushLookups()
      closed = true
      purgeExpired()
      await checkpointer?.stop()
      db.close()
    },
  }
}
