/**
 * The emulator's tables in a PostgreSQL database, beside auth-core's, versioned as the component
 * `emulator` (see `migratePostgres` of `@eyepop/auth-core/postgres`).
 *
 * @module
 */
import type { PostgresMigrations } from '@eyepop/auth-core/postgres'

/**
 * Never edit a migration that has shipped: append a new one. The tables are SQLite's (see
 * `../sqlite/migrations.ts`) in PostgreSQL's types: times are `bigint` milliseconds, identifiers
 * compare bytewise (`COLLATE "C"`, so lists come out in SQLite's order whatever the database's
 * locale), an account's email is unique whatever its case (a unique index on `lower(email)`, as
 * SQLite's `COLLATE NOCASE`), oidc-provider's payloads and audit details are `jsonb`, and audit
 * events are numbered by an identity column in the order they are inserted.
 */
export const EMULATOR_POSTGRES_MIGRATIONS: PostgresMigrations = {
  component: 'emulator',
  migrations: [
    `
  CREATE TABLE accounts (
    id TEXT COLLATE "C" PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    password_hash TEXT
  );
  CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));
  CREATE TABLE pops (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX pops_account ON pops (account_id, created_at, id);
  CREATE TABLE oidc_artifacts (
    model TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    payload JSONB NOT NULL,
    uid TEXT COLLATE "C",
    user_code TEXT COLLATE "C",
    grant_id TEXT COLLATE "C",
    expires_at BIGINT,
    PRIMARY KEY (model, id)
  );
  CREATE INDEX oidc_artifacts_uid ON oidc_artifacts (model, uid);
  CREATE INDEX oidc_artifacts_user_code ON oidc_artifacts (model, user_code);
  CREATE INDEX oidc_artifacts_grant ON oidc_artifacts (grant_id);
  CREATE INDEX oidc_artifacts_expiry ON oidc_artifacts (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE audit_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL,
    key_id TEXT COLLATE "C",
    type TEXT NOT NULL,
    at BIGINT NOT NULL,
    detail JSONB NOT NULL
  );
  CREATE INDEX audit_events_account ON audit_events (account_id, id);
  CREATE INDEX audit_events_key ON audit_events (account_id, key_id, id);
  `,
  ],
}
