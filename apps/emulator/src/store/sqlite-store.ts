/**
 * The emulator's store on the data dir's SQLite file: auth-core's SQLite key store, and the
 * emulator's tables in the same file (migrated as the component `emulator`, through the key
 * store's connection).
 *
 * @module
 */
import { errors } from '@eyepop/auth-core'
import { createSqliteStore, insertRecord, type SqliteStoreOptions } from '@eyepop/auth-core/sqlite'
import { resolveListAuditOptions } from './list-audit-options.js'
import { EMULATOR_SQLITE_MIGRATIONS } from './sqlite/migrations.js'
import { toAccount, toAuditEvent, toOidcPayload, toPop } from './sqlite/rows.js'
import { prepareEmulatorStatements } from './sqlite/statements.js'
import type { AuditEventInput, EmulatorStore } from './types.js'
import { withAccountCheck } from './account-keys.js'

/** Options of {@link createSqliteEmulatorStore}: those of auth-core's SQLite store. */
export type SqliteEmulatorStoreOptions = Omit<SqliteStoreOptions, 'migrations'>

/**
 * Opens (creating and migrating as needed) the emulator's store in a SQLite file.
 *
 * @throws {errors.StoreError} when the file cannot be opened or was written by newer software
 */
export function createSqliteEmulatorStore(options: SqliteEmulatorStoreOptions): EmulatorStore {
  const now = options.now ?? Date.now
  const keys = createSqliteStore({ ...options, migrations: [EMULATOR_SQLITE_MIGRATIONS] })
  const db = keys.database
  const s = prepareEmulatorStatements(db)

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
  const purgeArtifacts = () => s.oidcPurge.run(now()).changes
  let closed = false

  return {
    // Files written since the emulator keeps its own tables have no foreign key from a key to its
    // account: the account is checked first.
    ...withAccountCheck(keys, (id) => s.accountExists.get(id) !== undefined),
    accounts: {
      async create(record) {
        const { id, email, name, createdAt } = record
        insertRecord(() => s.accountInsert.run({ id, email, name, createdAt, passwordHash: record.passwordHash ?? null }), 'account')
      },
      async get(id) {
        return toAccount(s.accountGet.get(id))
      },
      async findByEmail(email) {
        return toAccount(s.accountByEmail.get(email))
      },
      async list() {
        return s.accountList.all().map((row) => toAccount(row)!)
      },
      async setPasswordHash(id, hash) {
        return s.accountSetPassword.run({ id, hash }).changes === 1
      },
    },
    pops: {
      async create(record) {
        insertRecord(() => s.popInsert.run(record), 'pop')
      },
      async get(id) {
        return toPop(s.popGet.get(id))
      },
      async list(accountId) {
        return s.popList.all(accountId).map((row) => toPop(row)!)
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
        return toOidcPayload(s.oidcFind.get(model, id, now()))
      },
      async findByUid(model, uid) {
        return toOidcPayload(s.oidcByUid.get(model, uid, now()))
      },
      async findByUserCode(model, userCode) {
        return toOidcPayload(s.oidcByUserCode.get(model, userCode, now()))
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
      if (closed) throw new errors.StoreError('the store is closed')
      return purgeArtifacts() + (await keys.purgeExpired())
    },
    async close() {
      if (closed) return
      closed = true
      // Best effort: the file is closed even when the purge fails.
      try {
        purgeArtifacts()
      } catch {
        // What expired is purged on the next start.
      }
      await keys.close()
    },
  }
}
