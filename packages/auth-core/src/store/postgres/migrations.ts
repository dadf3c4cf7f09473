/**
 * Schema migrations of a PostgreSQL database, versioned per component as in a SQLite file:
 * auth-core's key store is one component, and an application that keeps its own tables in the same
 * database (the emulator) is another, with migrations of its own. A table `schema_migrations`
 * records how many of each component's migrations have run. Tables are created in the first
 * schema of the connection's `search_path`.
 *
 * @module
 */
import type { Pool } from 'pg'
import { StoreError } from '../../errors.js'
import { inPostgresTransaction, runQuery, type Queryable } from './database.js'

/** One component's migrations, in order. Never edit one that has shipped: append a new one. */
export interface PostgresMigrations {
  /** The component's name, its row in `schema_migrations`, e.g. `auth-core`. */
  readonly component: string
  /** SQL scripts (several statements each if need be), run in order inside one transaction. */
  readonly migrations: readonly string[]
}

/**
 * auth-core's own tables, as in SQLite: API keys (the hash is the primary key, live keys indexed
 * apart so counting and listing skip the deleted ones), the revocation feed (deleted keys and
 * single revoked tokens in one sequence), signing keys and settings. Times are `bigint`
 * milliseconds. Identifiers compare bytewise (`COLLATE "C"`), so lists come out in the same order
 * as SQLite's whatever the database's locale. A key's account is the application's: no foreign key.
 */
export const AUTH_CORE_POSTGRES_MIGRATIONS: PostgresMigrations = {
  component: 'auth-core',
  migrations: [
    `
  CREATE TABLE api_keys (
    hash TEXT COLLATE "C" PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    account_id TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    deleted_at BIGINT
  );
  CREATE INDEX api_keys_account ON api_keys (account_id, created_at, id);
  CREATE INDEX api_keys_live ON api_keys (account_id, created_at, id) WHERE deleted_at IS NULL;
  CREATE TABLE revocations (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('key', 'token')),
    subject TEXT COLLATE "C" NOT NULL,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT,
    UNIQUE (kind, subject)
  );
  CREATE INDEX revocations_token_expiry ON revocations (expires_at) WHERE kind = 'token';
  CREATE TABLE signing_keys (
    kid TEXT COLLATE "C" PRIMARY KEY,
    alg TEXT NOT NULL,
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
  );
  CREATE TABLE settings (
    name TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  ],
}

/**
 * The key of the advisory lock that migrations of the connection's schema run under: one per
 * schema, so that two schemas of one database migrate independently.
 */
const MIGRATION_LOCK = "hashtext('eyepop.schema_migrations:' || current_schema())"

async function componentVersion(db: Queryable, component: string): Promise<number> {
  const table = await runQuery<{ t: string | null }>(db, { text: "SELECT to_regclass('schema_migrations')::text AS t" })
  if (!table.rows[0]?.t) return 0
  const row = await runQuery<{ version: number }>(db, {
    text: 'SELECT version FROM schema_migrations WHERE component = $1',
    values: [component],
  })
  return row.rows[0]?.version ?? 0
}

function checkNotNewer(version: number, { component, migrations }: PostgresMigrations): void {
  if (version > migrations.length) {
    throw new StoreError(
      `database schema of ${component} is at version ${version}, newer than this software supports (${migrations.length})`,
    )
  }
}

/**
 * Brings `target`'s tables up to date: runs its migrations that have not run, in one transaction
 * that holds a transaction-level advisory lock (`pg_advisory_xact_lock`, one per schema) from
 * before it reads the version, so that instances starting at once run each migration once: the
 * others wait, then find it done. Does nothing, without taking the lock, when the schema is up
 * to date. DDL is transactional in PostgreSQL: a migration that fails leaves nothing behind.
 *
 * @example
 * ```ts
 * import { migratePostgres } from '@eyepop/auth-core/postgres'
 * await migratePostgres(store.pool, {
 *   component: 'my-app',
 *   migrations: ['CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)'],
 * })
 * ```
 *
 * @param pool the pool to migrate through (its `search_path` names the schema)
 * @param target the component and its migrations
 * @throws {StoreError} when the database was migrated by newer software (it is left as it was),
 *   when it cannot be reached, or when a migration fails
 */
export async function migratePostgres(pool: Pool, target: PostgresMigrations): Promise<void> {
  const version = await componentVersion(pool, target.component)
  checkNotNewer(version, target)
  if (version === target.migrations.length) return
  await inPostgresTransaction(pool, async (client) => {
    await runQuery(client, { text: `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})` })
    await runQuery(client, {
      text: 'CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT PRIMARY KEY, version INTEGER NOT NULL)',
    })
    // Read again under the lock: another instance may have migrated meanwhile.
    const current = await componentVersion(client, target.component)
    checkNotNewer(current, target)
    for (let i = current; i < target.migrations.length; i++) {
      try {
        await client.query(target.migrations[i]!)
      } catch (err) {
        // The server's message about the application's own SQL: it names no secret.
        const reason = err instanceof Error ? err.message : String(err)
        throw new StoreError(`migration ${i + 1} of ${target.component} failed: ${reason}`, { cause: err })
      }
    }
    await runQuery(client, {
      text: `INSERT INTO schema_migrations (component, version) VALUES ($1, $2)
             ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
      values: [target.component, target.migrations.length],
    })
  })
}
