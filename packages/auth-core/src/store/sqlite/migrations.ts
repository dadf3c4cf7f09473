/**
 * Schema migrations of a SQLite file, versioned per component: auth-core's key store is one
 * component, and an application that keeps its own tables in the same file (the emulator) is
 * another, with migrations of its own. A table `schema_migrations` records how many of each
 * component's migrations have run; `PRAGMA user_version` is {@link SQLITE_LAYOUT_VERSION}.
 *
 * Files written before (by `@eyepop/auth-core` 0.1, which kept the emulator's tables too) count
 * their migrations in `user_version` (1 to 6): they are brought to version 6 by the
 * {@link LEGACY_SQLITE_MIGRATIONS} they shipped with, then switched to this layout in place. Every
 * component's first migration creates its tables only where missing, so on such a file it finds
 * them already there, data and all.
 *
 * @module
 */
import type Database from 'better-sqlite3'
import { StoreError } from '../../errors.js'

/** The `user_version` of a file whose migrations are counted per component. */
export const SQLITE_LAYOUT_VERSION = 100

/** One component's migrations, in order. Never edit one that has shipped: append a new one. */
export interface SqliteMigrations {
  /** The component's name, its row in `schema_migrations`, e.g. `auth-core`. */
  readonly component: string
  /** SQL scripts, run in order inside one write transaction. */
  readonly migrations: readonly string[]
}

/**
 * The migrations of the single-version layout, frozen as they shipped in `@eyepop/auth-core` 0.1
 * (`user_version` 1 to 6). Only files written then run them, to reach version 6 before the switch.
 */
export const LEGACY_SQLITE_MIGRATIONS: readonly string[] = [
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

/**
 * auth-core's own tables: API keys (stored in the order of their hash, a WITHOUT ROWID table, so
 * a lookup reads one B-tree; live keys indexed apart so counting and listing skip the deleted
 * ones), the revocation feed (deleted keys and single revoked tokens in one sequence), signing
 * keys and settings. A key's account is the application's: no foreign key.
 */
export const AUTH_CORE_SQLITE_MIGRATIONS: SqliteMigrations = {
  component: 'auth-core',
  migrations: [
    `
  CREATE TABLE IF NOT EXISTS api_keys (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    deleted_at INTEGER
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS api_keys_account ON api_keys(account_id, created_at);
  CREATE INDEX IF NOT EXISTS api_keys_live ON api_keys(account_id, created_at, id) WHERE deleted_at IS NULL;
  CREATE TABLE IF NOT EXISTS revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('key', 'token')),
    subject TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER,
    UNIQUE (kind, subject)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
  ) STRICT;
  CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  `,
  ],
}

const LEGACY_VERSION = LEGACY_SQLITE_MIGRATIONS.length

function componentVersion(db: Database.Database, component: string): number {
  const hasTable = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get()
  if (!hasTable) return 0
  const row = db.prepare('SELECT version FROM schema_migrations WHERE component = ?').get(component) as
    | { version: number }
    | undefined
  return row?.version ?? 0
}

/** Refuses a file written by newer software, before anything is changed. */
function checkNotNewer(db: Database.Database, { component, migrations }: SqliteMigrations): void {
  const layout = db.pragma('user_version', { simple: true }) as number
  if (layout !== SQLITE_LAYOUT_VERSION && layout > LEGACY_VERSION) {
    throw new StoreError(`database schema version ${layout} is newer than this software supports (${SQLITE_LAYOUT_VERSION})`)
  }
  const version = componentVersion(db, component)
  if (version > migrations.length) {
    throw new StoreError(
      `database schema of ${component} is at version ${version}, newer than this software supports (${migrations.length})`,
    )
  }
}

/**
 * Brings `component`'s tables up to date: runs its migrations that have not run, in one write
 * transaction (`BEGIN IMMEDIATE` takes the write lock first, so two processes opening a file at
 * once cannot both run one), switching a file of the single-version layout over first. Does
 * nothing, without taking the write lock, when the file is up to date.
 *
 * @throws {StoreError} when the file was written by newer software (it is left as it was)
 */
export function migrateSqlite(db: Database.Database, target: SqliteMigrations): void {
  checkNotNewer(db, target)
  const upToDate = () =>
    db.pragma('user_version', { simple: true }) === SQLITE_LAYOUT_VERSION &&
    componentVersion(db, target.component) === target.migrations.length
  if (upToDate()) return
  db.transaction(() => {
    // Read again under the lock: another process may have migrated meanwhile.
    checkNotNewer(db, target)
    const layout = db.pragma('user_version', { simple: true }) as number
    if (layout !== SQLITE_LAYOUT_VERSION) {
      // 0 is a new (or empty) file; 1 to 6 one of the single-version layout, finished first.
      if (layout > 0) for (let i = layout; i < LEGACY_VERSION; i++) db.exec(LEGACY_SQLITE_MIGRATIONS[i]!)
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT',
      )
      db.pragma(`user_version = ${SQLITE_LAYOUT_VERSION}`)
    }
    const current = componentVersion(db, target.component)
    for (let i = current; i < target.migrations.length; i++) db.exec(target.migrations[i]!)
    db.prepare(
      `INSERT INTO schema_migrations (component, version) VALUES (?, ?)
       ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
    ).run(target.component, target.migrations.length)
  }).immediate()
}
