/**
 * The emulator's tables in the data dir's SQLite file, beside auth-core's, versioned as the
 * component `emulator` (see `migrateSqlite` of `@eyepop/auth-core/sqlite`).
 *
 * @module
 */
import type { SqliteMigrations } from '@eyepop/auth-core/sqlite'

/**
 * Never edit a migration that has shipped: append a new one. The first creates the tables only
 * where missing: a data dir written before the emulator kept its own tables (when auth-core's
 * migrations 1 to 6 created them) already has them, with the same columns and its data.
 */
export const EMULATOR_SQLITE_MIGRATIONS: SqliteMigrations = {
  component: 'emulator',
  migrations: [
    `
  CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    password_hash TEXT
  ) STRICT;
  CREATE TABLE IF NOT EXISTS pops (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS pops_account ON pops(account_id, created_at);
  CREATE TABLE IF NOT EXISTS oidc_artifacts (
    model TEXT NOT NULL,
    id TEXT NOT NULL,
    payload TEXT NOT NULL,
    uid TEXT,
    user_code TEXT,
    grant_id TEXT,
    expires_at INTEGER,
    PRIMARY KEY (model, id)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS oidc_artifacts_uid ON oidc_artifacts(model, uid);
  CREATE INDEX IF NOT EXISTS oidc_artifacts_user_code ON oidc_artifacts(model, user_code);
  CREATE INDEX IF NOT EXISTS oidc_artifacts_grant ON oidc_artifacts(grant_id);
  CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    key_id TEXT,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    detail TEXT NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS audit_events_account ON audit_events(account_id, id);
  `,
  ],
}
