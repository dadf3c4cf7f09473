/**
 * The emulator's store in memory: auth-core's memory key store, and the emulator's records beside
 * it in maps.
 *
 * @module
 */
import { createMemoryStore, errors } from '@eyepop/auth-core'
import { resolveListAuditOptions } from './list-audit-options.js'
import type { AccountRecord, AuditEvent, EmulatorStore, OidcPayload, PopRecord } from './types.js'
import { withAccountCheck } from './account-keys.js'

/** Options of {@link createMemoryEmulatorStore}. */
export interface MemoryEmulatorStoreOptions {
  /** The clock that expires oidc-provider artifacts and revoked tokens (ms). Default is `Date.now`. */
  now?: () => number
}

/**
 * An in-memory {@link EmulatorStore}: development and tests only; lost on exit, invisible to the
 * CLI.
 */
export function createMemoryEmulatorStore(options: MemoryEmulatorStoreOptions = {}): EmulatorStore {
  const now = options.now ?? Date.now
  const keys = createMemoryStore({ now })
  const accounts = new Map<string, AccountRecord>()
  const pops = new Map<string, PopRecord>()
  const oidc = new Map<string, { payload: OidcPayload; expiresAt: number | null }>()
  // Append-only, in id order: event n has id n + 1.
  const auditEvents: AuditEvent[] = []

  const oidcKey = (model: string, id: string) => `${model}:${id}`
  const liveOidc = (model: string, id: string) => {
    const entry = oidc.get(oidcKey(model, id))
    if (!entry) return undefined
    if (entry.expiresAt !== null && entry.expiresAt <= now()) {
      oidc.delete(oidcKey(model, id))
      return undefined
    }
    return entry.payload
  }
  const findOidcBy = (model: string, field: 'uid' | 'userCode', value: string) => {
    for (const [key, entry] of oidc) {
      if (key.startsWith(`${model}:`) && entry.payload[field] === value) {
        return liveOidc(model, key.slice(model.length + 1))
      }
    }
    return undefined
  }

  return {
    ...keys,
    ...withAccountCheck(keys, (id) => accounts.has(id)),
    accounts: {
      async create(record) {
        const email = record.email.toLowerCase()
        if (accounts.has(record.id)) throw new errors.Conflict('account id already exists')
        for (const account of accounts.values()) {
          if (account.email.toLowerCase() === email) throw new errors.Conflict('account email already exists')
        }
        accounts.set(record.id, { ...record })
      },
      async get(id) {
        return accounts.get(id)
      },
      async findByEmail(email) {
        const wanted = email.toLowerCase()
        for (const account of accounts.values()) {
          if (account.email.toLowerCase() === wanted) return account
        }
        return undefined
      },
      async list() {
        return [...accounts.values()].sort((a, b) => a.createdAt - b.createdAt)
      },
      async setPasswordHash(id, hash) {
        const record = accounts.get(id)
        if (!record) return false
        accounts.set(id, { ...record, passwordHash: hash })
        return true
      },
    },
    pops: {
      async create(record) {
        if (!accounts.has(record.accountId)) throw new errors.NotFound('pop refers to a record that does not exist')
        if (pops.has(record.id)) throw new errors.Conflict('pop id already exists')
        pops.set(record.id, { ...record })
      },
      async get(id) {
        return pops.get(id)
      },
      async list(accountId) {
        return [...pops.values()]
          .filter((p) => p.accountId === accountId)
          .sort((a, b) => a.createdAt - b.createdAt)
      },
    },
    oidc: {
      async upsert(model, id, payload, expiresInSeconds) {
        const expiresAt = expiresInSeconds ? now() + expiresInSeconds * 1000 : null
        oidc.set(oidcKey(model, id), { payload: { ...payload }, expiresAt })
      },
      async find(model, id) {
        return liveOidc(model, id)
      },
      async findByUid(model, uid) {
        return findOidcBy(model, 'uid', uid)
      },
      async findByUserCode(model, userCode) {
        return findOidcBy(model, 'userCode', userCode)
      },
      async consume(model, id) {
        const entry = oidc.get(oidcKey(model, id))
        if (entry) entry.payload = { ...entry.payload, consumed: Math.floor(now() / 1000) }
      },
      async destroy(model, id) {
        oidc.delete(oidcKey(model, id))
      },
      async revokeByGrantId(grantId) {
        for (const [key, entry] of oidc) {
          if (entry.payload.grantId === grantId) oidc.delete(key)
        }
      },
    },
    audit: {
      async append(events) {
        for (const event of events) {
          auditEvents.push({ ...event, detail: { ...event.detail }, id: auditEvents.length + 1 })
        }
      },
      async list(accountId, listOptions) {
        const { limit, before, keyId } = resolveListAuditOptions(listOptions)
        const page: AuditEvent[] = []
        for (let i = Math.min(before - 1, auditEvents.length) - 1; i >= 0 && page.length < limit; i--) {
          const event = auditEvents[i]!
          if (event.accountId === accountId && (keyId === undefined || event.keyId === keyId)) page.push(event)
        }
        return page
      },
    },
    async purgeExpired() {
      const at = now()
      let purged = 0
      for (const [key, entry] of oidc) {
        if (entry.expiresAt !== null && entry.expiresAt <= at) {
          oidc.delete(key)
          purged++
        }
      }
      return purged + (await keys.purgeExpired())
    },
  }
}
