/**
 * Talking to PostgreSQL the way every query of the store expects: numbers for `bigint` columns,
 * and the one mapping of pg's failures to the store's errors.
 *
 * @module
 */
import pg from 'pg'
import type { CustomTypesConfig, Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg'
import { AuthCoreError, Conflict, NotFound, StoreError } from '../../errors.js'

const INT8_OID = 20

/**
 * The store's type parsers, given per query so that a pool shared with the application keeps its
 * own: `bigint` (times in ms, sequence numbers, counts) as a JavaScript number. Times stay far below
 * 2^53, and so does the revocation sequence.
 */
export const STORE_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
}

/** Something that runs a query: the pool, or one client inside a transaction. */
export type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>

/** SQLSTATE classes that mean the database cannot be reached or used right now. */
const UNAVAILABLE_CLASSES = ['08', '28', '3D', '53', '57']

/**
 * Turns a failure of pg into the store's error: a unique violation (SQLSTATE 23505) into `Conflict`
 * and a foreign key violation (23503) into `NotFound` (`what` names the record, as SQLite's
 * `insertRecord` says them), anything else into `StoreError`. The message never carries the
 * connection string, so never its password: pg's own message is kept only for the server's
 * answers about the connection (authentication, a missing database, a shutdown), which name the
 * user and database at most; other failures give their SQLSTATE or system error code.
 */
export function toStoreError(err: unknown, what?: string): Error {
  if (err instanceof AuthCoreError) return err
  const code = (err as { code?: unknown }).code
  // Without its cause: the URL parser's error may quote the string.
  if (code === 'ERR_INVALID_URL') return new StoreError('the postgres connection string is not a valid url')
  if (code === '23505' && what) return new Conflict(`${what} already exists`, { cause: err })
  if (code === '23503' && what) return new NotFound(`${what} refers to a record that does not exist`, { cause: err })
  const message = err instanceof Error ? err.message : String(err)
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const reason = UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) ? `${message} (SQLSTATE ${code})` : `SQLSTATE ${code}`
    return new StoreError(`the postgres store failed: ${reason}`, { cause: err })
  }
  if (typeof code === 'string') {
    return new StoreError(`the postgres store cannot reach its database: ${code}`, { cause: err })
  }
  // pg's own client-side failures: a connection timeout, a connection ended, a query timeout.
  const known = /^(Connection terminated[a-z ]*|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error[a-z ]*|Cannot use a pool after calling end on the pool)/.exec(message)
  return new StoreError(`the postgres store failed: ${known ? known[1]!.toLowerCase() : 'unexpected error'}`, { cause: err })
}

/**
 * Runs one query of the store and maps its failure (see {@link toStoreError}).
 *
 * @param what names the record an insert writes, for `Conflict`
 */
export async function runQuery<R extends QueryResultRow = QueryResultRow>(
  db: Queryable,
  query: QueryConfig,
  what?: string,
): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>({ ...query, types: STORE_TYPES })
  } catch (err) {
    throw toStoreError(err, what)
  }
}

/**
 * Runs one query on the store's database as the store runs its own, for an application's tables
 * beside auth-core's (reached through the store's `pool`): `bigint` columns read as
 * numbers (given per query, so the pool's own parsers are untouched), and failures as the store's
 * errors, never with the password: a unique violation rejects with `Conflict` and a foreign key
 * violation with `NotFound` when `what` names the record written, anything else with `StoreError`.
 *
 * This function is exported from the subpath `@eyepop/auth-core/postgres`.
 *
 * @example
 * ```ts
 * import { createPostgresStore, queryPostgres } from '@eyepop/auth-core/postgres'
 * const store = await createPostgresStore({ connectionString, migrations: [notes] })
 * await queryPostgres(store.pool, { text: 'INSERT INTO notes (id, body) VALUES ($1, $2)', values: [1, 'x'] }, 'note')
 * const { rows } = await queryPostgres<{ id: number }>(store.pool, { text: 'SELECT id FROM notes' })
 * ```
 *
 * @param db the store's pool, or one of its clients inside a transaction
 * @param query the statement: text and values, and a `name` to prepare it once per connection
 * @param what names the record an insert writes, for `Conflict` and `NotFound`
 * @throws {Conflict} when the record already exists (with `what`)
 * @throws {NotFound} when it refers to a record that does not exist (with `what`)
 * @throws {StoreError} when the query fails otherwise, or the database cannot be reached
 */
export function queryPostgres<R extends QueryResultRow = QueryResultRow>(
  db: Pool | PoolClient,
  query: QueryConfig,
  what?: string,
): Promise<pg.QueryResult<R>> {
  return runQuery<R>(db, query, what)
}

/**
 * Runs `fn` in a transaction on one client of the pool: `COMMIT` when it resolves, `ROLLBACK` when
 * it throws (a client whose rollback fails, or whose connection failed, is destroyed, not returned
 * to the pool). What `fn` throws is rethrown as it is: run its queries with {@link runQuery}
 * (`queryPostgres`) for the store's errors. A failure to connect, to begin or to commit (a lost
 * connection among them) is a `StoreError`.
 */
export async function inPostgresTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient
  try {
    client = await pool.connect()
  } catch (err) {
    throw toStoreError(err)
  }
  let broken: unknown
  // The pool listens for errors of its idle clients only: a checked-out client whose connection
  // ends emits `error`, which would be thrown with nothing listening. The query under way fails too.
  const onError = (err: unknown) => (broken ??= err)
  client.on('error', onError)
  try {
    await runQuery(client, { text: 'BEGIN' })
    const result = await fn(client)
    await runQuery(client, { text: 'COMMIT' })
    return result
  } catch (err) {
    try {
      await client.query('ROLLBACK')
    } catch (rollbackErr) {
      broken = rollbackErr
    }
    throw err
  } finally {
    client.off('error', onError)
    client.release(broken instanceof Error ? broken : undefined)
  }
}

/**
 * Where a connection string points, for logs: `postgres://user@host:port/database`, never its
 * password nor its parameters.
 */
export function describeConnection(config: { connectionString?: string; user?: string; host?: string; port?: number; database?: string }): string {
  let { user, host, port, database } = config
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString)
      user = decodeURIComponent(url.username) || user
      host = url.hostname || host
      port = url.port ? Number(url.port) : port
      database = decodeURIComponent(url.pathname.slice(1)) || database
    } catch {
      return 'postgres'
    }
  }
  return `postgres://${user ? `${user}@` : ''}${host ?? 'localhost'}${port ? `:${port}` : ''}/${database ?? ''}`
}
