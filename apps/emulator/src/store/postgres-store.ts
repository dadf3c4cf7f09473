/**
 * The emulator's store on PostgreSQL, for several emulators sharing one database (issue 16):
 * auth-core's PostgreSQL key store, and the emulator's tables in the same database (migrated as
 * the component `emulator`, queried through the key store's pool). What one instance writes, the
 * others read at once; a key deleted through one is refused by the others within a poll of their
 * revocation lists (`revocationPollMs`).
 *
 * @module
 */
import { errors } from '@eyepop/auth-core'
import { createPostgresStore, queryPostgres, type PostgresStoreOptions } from '@eyepop/auth-core/postgres'
import type { QueryConfig, QueryResultRow } from 'pg'
import { resolveListAuditOptions } from './list-audit-options.js'
import { EMULATOR_POSTGRES_MIGRATIONS } from './postgres/migrations.js'
import { toAccount, toAuditEvent, toOidcPayload, toPop, type AccountRow, type AuditEventRow, type PopRow } from './postgres/rows.js'
import { bind, EMULATOR_STATEMENTS as s } from './postgres/statements.js'
import type { EmulatorStore, OidcPayload } from './types.js'
import { withAccountCheck } from './account-keys.js'

/**
 * Options of {@link createPostgresEmulatorStore}: those of auth-core's PostgreSQL store
 * (`connectionString` or `pool`, the pool's limits, `now`).
 */
export type PostgresEmulatorStoreOptions = Omit<PostgresStoreOptions, 'migrations'>

/**
 * Opens (creating and migrating the tables as needed) the emulator's store in a PostgreSQL
 * database. Its `description` names the database without the password.
 *
 * @example
 * ```ts
 * const store = await createPostgresEmulatorStore({ connectionString: 'postgres://emulator:secret@db:5432/emulator' })
 * ```
 *
 * @throws {TypeError} when neither or both of `connectionString` and `pool` are given
 * @throws {errors.StoreError} when the database cannot be reached (never with the password) or
 *   was migrated by newer software
 */
export async function createPostgresEmulatorStore(options: PostgresEmulatorStoreOptions): Promise<EmulatorStore> {
  const now = options.now ?? Date.now
  const keys = await createPostgresStore({ ...options, migrations: [EMULATOR_POSTGRES_MIGRATIONS] })
  const { pool } = keys
  let closed = false
  let closing: Promise<void> | undefined

  const query = <R extends QueryResultRow>(config: QueryConfig, what?: string) => {
    if (closed) return Promise.reject(new errors.StoreError('the store is closed'))
    return queryPostgres<R>(pool, config, what)
  }
  const first = async <R extends QueryResultRow>(config: QueryConfig): Promise<R | undefined> => (await query<R>(config)).rows[0]
  const purgeArtifacts = async () => (await query(bind(s.oidcPurge, [now()]))).rowCount ?? 0

  const accountKeys = withAccountCheck(keys, async (id) => (await first<{ found: boolean }>(bind(s.accountExists, [id])))?.found === true)

  return {
    ...accountKeys,
    accounts: {
      async create(record) {
        const { id, email, name, createdAt } = record
        await query(bind(s.accountInsert, [id, email, name, createdAt, record.passwordHash ?? null]), 'account')
      },
      async get(id) {
        return toAccount(await first<AccountRow>(bind(s.accountGet, [id])))
      },
      async findByEmail(email) {
        return toAccount(await first<AccountRow>(bind(s.accountByEmail, [email])))
      },
      async list() {
        return (await query<AccountRow>(bind(s.accountList, []))).rows.map((row) => toAccount(row)!)
      },
      async setPasswordHash(id, hash) {
        return (await query(bind(s.accountSetPassword, [id, hash]))).rowCount === 1
      },
    },
    pops: {
      async create(record) {
        await query(bind(s.popInsert, [record.id, record.accountId, record.name, record.createdAt]), 'pop')
      },
      async get(id) {
        return toPop(await first<PopRow>(bind(s.popGet, [id])))
      },
      async list(accountId) {
        return (await query<PopRow>(bind(s.popList, [accountId]))).rows.map((row) => toPop(row)!)
      },
    },
    oidc: {
      async upsert(model, id, payload, expiresInSeconds) {
        await query(
          bind(s.oidcUpsert, [
            model,
            id,
            JSON.stringify(payload),
            payload.uid ?? null,
            payload.userCode ?? null,
            payload.grantId ?? null,
            expiresInSeconds ? now() + expiresInSeconds * 1000 : null,
          ]),
        )
      },
      async find(model, id) {
        return toOidcPayload(await first<{ payload: OidcPayload }>(bind(s.oidcFind, [model, id, now()])))
      },
      async findByUid(model, uid) {
        return toOidcPayload(await first<{ payload: OidcPayload }>(bind(s.oidcByUid, [model, uid, now()])))
      },
      async findByUserCode(model, userCode) {
        return toOidcPayload(await first<{ payload: OidcPayload }>(bind(s.oidcByUserCode, [model, userCode, now()])))
      },
      async consume(model, id) {
        await query(bind(s.oidcConsume, [Math.floor(now() / 1000), model, id]))
      },
      async destroy(model, id) {
        await query(bind(s.oidcDestroy, [model, id]))
      },
      async revokeByGrantId(grantId) {
        await query(bind(s.oidcRevokeGrant, [grantId]))
      },
    },
    audit: {
      async append(events) {
        if (events.length === 0) return
        await query(
          bind(s.auditInsert, [
            events.map((e) => e.accountId),
            events.map((e) => e.keyId),
            events.map((e) => e.type),
            events.map((e) => e.at),
            events.map((e) => JSON.stringify(e.detail)),
          ]),
        )
      },
      async list(accountId, listOptions) {
        const { limit, before, keyId } = resolveListAuditOptions(listOptions)
        const statement =
          keyId === undefined
            ? bind(s.auditList, [accountId, before, limit])
            : bind(s.auditListByKey, [accountId, keyId, before, limit])
        return (await query<AuditEventRow>(statement)).rows.map(toAuditEvent)
      },
    },
    async purgeExpired() {
      return (await purgeArtifacts()) + (await keys.purgeExpired())
    },
    close() {
      closing ??= (async () => {
        // Best effort, as the SQLite store does at close: a database that is down must not keep
        // the pool open.
        await purgeArtifacts().catch(() => 0)
        closed = true
        await keys.close()
      })()
      return closing
    },
  }
}
