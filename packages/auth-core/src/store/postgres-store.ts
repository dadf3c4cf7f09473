/**
 * A {@link KeyStore} on PostgreSQL, for several instances of a key service or a resource server
 * sharing one database (issue 16): what one instance writes, the others read at once.
 *
 * Exported from the subpath `@eyepop/auth-core/postgres` so that the main entry point does not load
 * `pg` (an optional peer dependency). Queries go through a `pg.Pool` as named prepared statements.
 * The schema is versioned per component (`schema_migrations`, see {@link migratePostgres}) and
 * migrated forward at open; an application keeps its own tables in the same database with
 * migrations of its own ({@link PostgresStoreOptions.migrations}) and reaches it through
 * {@link PostgresKeyStore.pool}, with {@link queryPostgres} to read and write them as the store does.
 *
 * Revocation across instances: every instance's revocation list polls
 * `revocations.since(cursor)`, so a key deleted through one instance is refused by all of them
 * within one poll interval. The feed is ordered by a sequence whose numbers commit in order (see
 * `FEED_LOCK` in `postgres/statements.ts`), so a cursor never skips an entry.
 * TODO(v2): to shorten the interval without polling faster, the appending transaction could
 * `NOTIFY` a channel (`pg_notify('eyepop_revocations', seq)`, delivered at commit) and each
 * instance `LISTEN` on one dedicated connection, polling `since()` at once when told; the poll
 * stays, as the fallback for a notification lost while that connection was down.
 *
 * @module
 */
import pg from 'pg'
import type { Pool } from 'pg'
import { StoreError } from '../errors.js'
import { describeConnection, inPostgresTransaction, runQuery } from './postgres/database.js'
import { AUTH_CORE_POSTGRES_MIGRATIONS, migratePostgres, type PostgresMigrations } from './postgres/migrations.js'
import { bind, KEY_STATEMENTS as s } from './postgres/statements.js'
import { createTurnBatch } from './turn-batch.js'
import { toApiKey, toRevocationPage, toSigningKey, type ApiKeyRow, type RevocationRow, type SigningKeyRow } from './sqlite/rows.js'
import type { ApiKeyRecord, KeyStore } from './types.js'
import { resolveRevocationPageLimit } from './types.js'

export { inPostgresTransaction, queryPostgres } from './postgres/database.js'
export { migratePostgres } from './postgres/migrations.js'
export type { PostgresMigrations } from './postgres/migrations.js'

/** Options of {@link createPostgresStore}: `connectionString` or `pool`, not both. */
export interface PostgresStoreOptions {
  /**
   * Where the database is: `postgres://user:password@host:port/database`. Parameters pass on to
   * the server, e.g. `?options=-c%20search_path%3Dkeys` for a schema of its own. The store opens a
   * pool of its own on it and ends it at {@link KeyStore.close}.
   */
  connectionString?: string
  /**
   * A pool the application owns instead: the store queries through it and never ends it (end it
   * yourself after `close()`); its `error` events are the application's to listen to.
   */
  pool?: Pool
  /** The most connections the store's own pool opens. Default is 10. Ignored with `pool`. */
  maxConnections?: number
  /**
   * How long (in milliseconds) a query waits for a connection before it fails with `StoreError`.
   * Default is 5000. Ignored with `pool`.
   */
  connectionTimeoutMs?: number
  /**
   * How long (in milliseconds) a query waits for its answer before it fails with `StoreError` (its
   * connection is dropped). Default is 10000. Ignored with `pool`.
   */
  queryTimeoutMs?: number
  /** The clock that tells which revoked tokens have expired (ms). Default is `Date.now`. */
  now?: () => number
  /**
   * The application's own components (its tables in the same database), migrated after
   * auth-core's, at open. See {@link migratePostgres}.
   */
  migrations?: readonly PostgresMigrations[]
}

/** A {@link KeyStore} on PostgreSQL, with the pool for the application's own tables. */
export interface PostgresKeyStore extends KeyStore {
  /**
   * The pool the store queries through, for the application's own tables. When the store opened
   * it, {@link KeyStore.close} ends it; never end it yourself.
   */
  readonly pool: Pool
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`"${name}" option must be a positive integer`)
  return value
}

/**
 * Opens (creating and migrating the tables as needed) a PostgreSQL key store.
 *
 * @example
 * ```ts
 * import { createPostgresStore } from '@eyepop/auth-core/postgres'
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL })
 * ```
 *
 * @param options where the database is, and the store's limits
 * @throws {TypeError} when neither or both of `connectionString` and `pool` are given, or a limit
 *   is not a positive integer
 * @throws {StoreError} when the database cannot be reached (the message never carries the
 *   password), or was migrated by newer software
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresKeyStore> {
  if ((options.connectionString === undefined) === (options.pool === undefined)) {
    throw new TypeError('either "connectionString" or "pool" option must be given')
  }
  const now = options.now ?? Date.now
  const ownsPool = options.pool === undefined
  let pool: Pool
  if (options.pool) {
    pool = options.pool
  } else {
    pool = new pg.Pool({
      connectionString: options.connectionString,
      max: positiveInteger(options.maxConnections, 10, 'maxConnections'),
      connectionTimeoutMillis: positiveInteger(options.connectionTimeoutMs, 5000, 'connectionTimeoutMs'),
      query_timeout: positiveInteger(options.queryTimeoutMs, 10_000, 'queryTimeoutMs'),
      keepAlive: true,
    })
    // An idle connection that the server closes (a restart, say) is dropped by the pool, which
    // connects anew on the next query. Without a listener the event would end the process.
    pool.on('error', () => {})
  }
  const description = options.connectionString !== undefined
    ? describeConnection({ connectionString: options.connectionString })
    : describeConnection(pool.options)

  try {
    await migratePostgres(pool, AUTH_CORE_POSTGRES_MIGRATIONS)
    for (const component of options.migrations ?? []) await migratePostgres(pool, component)
  } catch (err) {
    if (ownsPool) await pool.end().catch(() => {})
    throw err
  }

  let closed = false
  let closing: Promise<void> | undefined
  const query = <R extends pg.QueryResultRow>(config: pg.QueryConfig, what?: string) => {
    if (closed) return Promise.reject(new StoreError('the store is closed'))
    return runQuery<R>(pool, config, what)
  }
  const purgeExpired = async () => (await query(bind(s.revocationPurge, [now()]))).rowCount ?? 0
  // Lookups by hash (one per token request) asked for in one turn of the event loop share one
  // query: one round trip, one protocol exchange on each side, instead of one each.
  const lookups = createTurnBatch<string, ApiKeyRecord | undefined>(
    async (hash) => toApiKey((await query<ApiKeyRow>(bind(s.keyByHash, [hash]))).rows[0]),
    async (hashes) => {
      const found = new Map<string, ApiKeyRow>()
      for (const row of (await query<ApiKeyRow>(bind(s.keysByHash, [[...new Set(hashes)]]))).rows) found.set(row[3], row)
      return hashes.map((hash) => toApiKey(found.get(hash)))
    },
  )

  const insertKey = (r: ApiKeyRecord) =>
    bind(s.keyInsert, [r.id, r.accountId, r.name, r.hash, r.hint, r.createdAt, r.expiresAt, r.lastUsedAt, r.deletedAt])

  return {
    description,
    pool,
    apiKeys: {
      async create(r) {
        await query(insertKey(r), 'api key')
      },
      async get(id) {
        return toApiKey((await query<ApiKeyRow>(bind(s.keyGet, [id]))).rows[0])
      },
      findByHash(hash) {
        if (closed) return Promise.reject(new StoreError('the store is closed'))
        return lookups.get(hash)
      },
      async list(accountId, listOptions = {}) {
        const result = await query<ApiKeyRow>(bind(listOptions.includeDeleted ? s.keyListAll : s.keyList, [accountId]))
        return result.rows.map((row) => toApiKey(row)!)
      },
      async countLive(accountId) {
        return (await query<{ n: number }>(bind(s.keyCountLive, [accountId]))).rows[0]?.n ?? 0
      },
      async createWithinLimit(r, maxLive) {
        if (closed) throw new StoreError('the store is closed')
        // The account's lock first: the count, a statement after it, sees what the creations before
        // this one committed.
        return inPostgresTransaction(pool, async (client) => {
          await runQuery(client, bind(s.keyLimitLock, [r.accountId]))
          const live = (await runQuery<{ n: number }>(client, bind(s.keyCountLive, [r.accountId]))).rows[0]?.n ?? 0
          if (live >= maxLive) return false
          await runQuery(client, insertKey(r), 'api key')
          return true
        })
      },
      async markDeleted(id, at) {
        if (closed) throw new StoreError('the store is closed')
        // The feed's lock first, then the key and its feed entry in one transaction.
        return inPostgresTransaction(pool, async (client) => {
          await runQuery(client, bind(s.feedLock, []))
          if ((await runQuery(client, bind(s.keyDelete, [id, at]))).rowCount !== 1) return false
          await runQuery(client, bind(s.keyDeletedInsert, [id, at]))
          return true
        })
      },
      async recordUse(uses) {
        if (uses.length === 0) return
        // The whole batch in one statement, hence one transaction.
        await query(bind(s.keyUse, [uses.map((use) => use.id), uses.map((use) => use.at)]))
      },
    },
    revocations: {
      async revokeToken(jti, expiresAt, at) {
        return (await query(bind(s.tokenRevoke, [jti, expiresAt, at]))).rowCount === 1
      },
      async isTokenRevoked(jti) {
        return (await query<{ revoked: boolean }>(bind(s.tokenRevoked, [jti]))).rows[0]?.revoked ?? false
      },
      async since(cursor, limit) {
        const pageLimit = resolveRevocationPageLimit(limit)
        const rows = (await query<RevocationRow>(bind(s.revocationSince, [cursor, pageLimit + 1]))).rows
        return toRevocationPage(rows, cursor, pageLimit)
      },
    },
    signingKeys: {
      async create(r) {
        await query(
          bind(s.signingInsert, [
            r.kid,
            r.alg,
            JSON.stringify(r.privateJwk),
            JSON.stringify(r.publicJwk),
            r.createdAt,
            r.retiredAt,
          ]),
          'signing key',
        )
      },
      async list() {
        return (await query<SigningKeyRow>(bind(s.signingList, []))).rows.map(toSigningKey)
      },
      async retireAllExcept(kid, at) {
        await query(bind(s.signingRetire, [kid, at]))
      },
      async prune(before) {
        return (await query(bind(s.signingPrune, [before]))).rowCount ?? 0
      },
    },
    settings: {
      async get(name) {
        return (await query<{ value: string }>(bind(s.settingGet, [name]))).rows[0]?.value
      },
      async setIfAbsent(name, value) {
        // Two statements: the insert waits for a racing one to commit, and the select that
        // follows (a new snapshot) reads whichever value won.
        await query(bind(s.settingInsert, [name, value]))
        const row = (await query<{ value: string }>(bind(s.settingGet, [name]))).rows[0]
        if (!row) throw new StoreError(`setting ${name} vanished after it was set`)
        return row.value
      },
    },
    purgeExpired,
    close() {
      closing ??= (async () => {
        // Best effort, as the SQLite store does at close: a database that is down must not keep
        // the pool open.
        // Lookups asked for before close are answered.
        lookups.flush()
        await purgeExpired().catch(() => 0)
        closed = true
        if (ownsPool) await pool.end()
      })()
      return closing
    },
  }
}
