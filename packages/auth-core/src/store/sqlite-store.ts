/**
 * The embedded default {@link KeyStore}: one SQLite file through better-sqlite3, in WAL mode, so
 * a server and a CLI can share a data dir (the CLI writes, the running server sees it at once).
 *
 * Exported from the subpath `@eyepop/auth-core/sqlite` so that the main entry point does not load
 * a native module. Statements are prepared once. The schema is versioned per component
 * (`schema_migrations`, see {@link migrateSqlite}) and migrated forward at open; an application
 * keeps its own tables in the same file with migrations of its own
 * ({@link SqliteStoreOptions.migrations}) and reaches the file through {@link SqliteKeyStore.database}.
 *
 * @module
 */
import type Database from 'better-sqlite3'
import { StoreError } from '../errors.js'
import { startBackgroundCheckpointer, type BackgroundCheckpointer } from './sqlite-checkpointer.js'
import { insertRecord, isOnDisk, openSqliteDatabase } from './sqlite/database.js'
import { AUTH_CORE_SQLITE_MIGRATIONS, migrateSqlite, type SqliteMigrations } from './sqlite/migrations.js'
import { toApiKey, toRevocationPage, toSigningKey } from './sqlite/rows.js'
import { prepareKeyStatements } from './sqlite/statements.js'
import { createTurnBatch } from './turn-batch.js'
import type { ApiKeyRecord, KeyStore } from './types.js'
import { resolveRevocationPageLimit } from './types.js'

export { insertRecord } from './sqlite/database.js'
export { migrateSqlite, SQLITE_LAYOUT_VERSION } from './sqlite/migrations.js'
export type { SqliteMigrations } from './sqlite/migrations.js'

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file; its folder is created if missing. `:memory:` for a private database. */
  filename: string
  /** The clock that tells which revoked tokens have expired (ms). Default is `Date.now`. */
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
  /**
   * The application's own components (its tables in the same file), migrated after auth-core's,
   * at open. See {@link migrateSqlite}.
   */
  migrations?: readonly SqliteMigrations[]
}

/** A {@link KeyStore} on a SQLite file, with the connection for the application's own tables. */
export interface SqliteKeyStore extends KeyStore {
  /**
   * The open connection, for the application's own tables (prepared statements, transactions).
   * Closed by {@link KeyStore.close}; never close it yourself.
   */
  readonly database: Database.Database
}

/**
 * Opens (creating and migrating as needed) a SQLite key store.
 *
 * @example
 * ```ts
 * import { createSqliteStore } from '@eyepop/auth-core/sqlite'
 * const store = createSqliteStore({ filename: '.eyepop/keys.db' })
 * ```
 *
 * @throws {StoreError} when the file cannot be opened or was written by newer software
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteKeyStore {
  const now = options.now ?? Date.now
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  const db = openSqliteDatabase(options.filename, {
    busyTimeoutMs,
    prepare(opened) {
      migrateSqlite(opened, AUTH_CORE_SQLITE_MIGRATIONS)
      for (const component of options.migrations ?? []) migrateSqlite(opened, component)
    },
  })

  // SQLite's default: the commit that crosses this many WAL pages checkpoints inline.
  const AUTO_CHECKPOINT_PAGES = 1000
  let checkpointer: BackgroundCheckpointer | undefined
  if (isOnDisk(options.filename) && options.checkpoint === 'background') {
    db.pragma('wal_autocheckpoint = 0')
    checkpointer = startBackgroundCheckpointer(options.filename, {
      intervalMs: options.checkpointIntervalMs ?? 1000,
      busyTimeoutMs,
      truncatePages: AUTO_CHECKPOINT_PAGES,
      // Without its thread the WAL would grow without bound: checkpoint inline again.
      onExit: () => {
        checkpointer = undefined
        if (db.open) db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`)
      },
    })
  }

  const s = prepareKeyStatements(db)
  const deleteKey = db.transaction((id: string, at: number): boolean => {
    if (s.keyDelete.run({ id, at }).changes !== 1) return false
    s.revocationInsert.run({ kind: 'key', subject: id, at, expiresAt: null })
    return true
  })
  // Counted and inserted in one IMMEDIATE transaction: it takes the file's write lock before
  // counting, so another connection (a CLI beside the server) counts after this insert.
  const createWithinLimit = db.transaction((record: ApiKeyRecord, maxLive: number): boolean => {
    if ((s.keyCountLive.get(record.accountId)?.n ?? 0) >= maxLive) return false
    insertRecord(() => s.keyInsert.run(record), 'api key')
    return true
  })
  const recordUses = db.transaction((uses: ReadonlyArray<{ id: string; at: number }>) => {
    for (const use of uses) s.keyUse.run(use)
  })
  const purgeExpired = () => s.revocationPurge.run(now()).changes
  // Lookups by hash (one per token request) share a read transaction per turn of the event loop.
  const lookups = createTurnBatch<string, ApiKeyRecord | undefined>(
    (hash) => toApiKey(s.keyByHash.get(hash)),
    db.transaction((hashes: readonly string[]) => hashes.map((hash) => toApiKey(s.keyByHash.get(hash)))),
  )
  let closed = false

  return {
    description: `sqlite:${options.filename}`,
    database: db,
    apiKeys: {
      async create(record) {
        insertRecord(() => s.keyInsert.run(record), 'api key')
      },
      async get(id) {
        return toApiKey(s.keyGet.get(id))
      },
      findByHash(hash) {
        if (closed) return Promise.reject(new StoreError('the store is closed'))
        return lookups.get(hash)
      },
      async list(accountId, listOptions = {}) {
        const rows = (listOptions.includeDeleted ? s.keyListAll : s.keyList).all(accountId)
        return rows.map((row) => toApiKey(row)!)
      },
      async countLive(accountId) {
        return s.keyCountLive.get(accountId)?.n ?? 0
      },
      async createWithinLimit(record, maxLive) {
        return createWithinLimit.immediate(record, maxLive)
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
        return toRevocationPage(s.revocationSince.all(cursor, pageLimit + 1), cursor, pageLimit)
      },
    },
    signingKeys: {
      async create(record) {
        insertRecord(
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
    async purgeExpired() {
      if (closed) throw new StoreError('the store is closed')
      return purgeExpired()
    },
    async close() {
      if (closed) return
      lookups.flush()
      closed = true
      // Best effort: the checkpoint thread is stopped and the file closed even when the purge
      // fails (what expired is purged on the next start).
      try {
        purgeExpired()
      } catch {
        // Nothing to do: see above.
      }
      try {
        await checkpointer?.stop()
      } finally {
        db.close()
      }
    },
  }
}
