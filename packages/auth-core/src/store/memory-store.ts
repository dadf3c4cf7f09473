import { Conflict, NotFound } from '../errors.js'
import { resolveListAuditOptions } from './list-audit-options.js'
import type {
  AccountRecord,
  ApiKeyRecord,
  AuditEvent,
  OidcPayload,
  PopRecord,
  RevokedKey,
  RevokedToken,
  SigningKeyRecord,
  Store,
} from './types.js'
import { resolveRevocationPageLimit } from './types.js'

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** The clock used to expire oidc-provider artifacts (ms). Default is `Date.now`. */
  now?: () => number
}

/**
 * An in-memory {@link Store}, for tests and throwaway runs. Development only: everything is lost
 * when the process ends, and nothing is shared with other processes (the CLI cannot reach it).
 *
 * @example
 * ```ts
 * const store = createMemoryStore()
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const now = options.now ?? Date.now
  const accounts = new Map<string, AccountRecord>()
  const keys = new Map<string, ApiKeyRecord>()
  const keysByHash = new Map<string, string>()
  const pops = new Map<string, PopRecord>()
  const signingKeys = new Map<string, SigningKeyRecord>()
  const settings = new Map<string, string>()
  // One ordered feed of key deletions and token revocations; the cursor is the last seq read.
  let lastSeq = 0
  let feed: Array<{ seq: number } & ({ key: RevokedKey } | { token: RevokedToken })> = []
  const revokedJtis = new Set<string>()
  /** The index of the first feed entry after `cursor` (entries are in seq order). */
  const feedIndexAfter = (cursor: number) => {
    let lo = 0
    let hi = feed.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (feed[mid]!.seq <= cursor) lo = mid + 1
      else hi = mid
    }
    return lo
  }
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
    description: 'memory',
    accounts: {
      async create(record) {
        const email = record.email.toLowerCase()
        if (accounts.has(record.id)) throw new Conflict('account id already exists')
        for (const account of accounts.values()) {
          if (account.email.toLowerCase() === email) throw new Conflict('account email already exists')
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
    apiKeys: {
      async create(record) {
        if (!accounts.has(record.accountId)) throw new NotFound('api key refers to a record that does not exist')
        if (keys.has(record.id)) throw new Conflict('api key id already exists')
        if (keysByHash.has(record.hash)) throw new Conflict('api key already exists')
        keys.set(record.id, { ...record })
        keysByHash.set(record.hash, record.id)
      },
      async get(id) {
        return keys.get(id)
      },
      async findByHash(hash) {
        const id = keysByHash.get(hash)
        return id === undefined ? undefined : keys.get(id)
      },
      async list(accountId, listOptions = {}) {
        return [...keys.values()]
          .filter((k) => k.accountId === accountId && (listOptions.includeDeleted || k.deletedAt === null))
          .sort((a, b) => a.createdAt - b.createdAt)
      },
      async countLive(accountId) {
        let count = 0
        for (const k of keys.values()) if (k.accountId === accountId && k.deletedAt === null) count++
        return count
      },
      async markDeleted(id, at) {
        const record = keys.get(id)
        if (!record || record.deletedAt !== null) return false
        keys.set(id, { ...record, deletedAt: at })
        feed.push({ seq: ++lastSeq, key: { id, deletedAt: at } })
        return true
      },
      async recordUse(uses) {
        for (const { id, at } of uses) {
          const record = keys.get(id)
          if (record && (record.lastUsedAt === null || record.lastUsedAt < at)) {
            keys.set(id, { ...record, lastUsedAt: at })
          }
        }
      },
    },
    revocations: {
      async revokeToken(jti, expiresAt, at) {
        if (revokedJtis.has(jti)) return false
        revokedJtis.add(jti)
        feed.push({ seq: ++lastSeq, token: { jti, revokedAt: at, expiresAt } })
        return true
      },
      async isTokenRevoked(jti) {
        return revokedJtis.has(jti)
      },
      async since(cursor, limit) {
        const pageLimit = resolveRevocationPageLimit(limit)
        const start = feedIndexAfter(cursor)
        const entries = feed.slice(start, start + pageLimit)
        return {
          revoked: entries.flatMap((e) => ('key' in e ? [e.key] : [])),
          revokedTokens: entries.flatMap((e) => ('token' in e ? [e.token] : [])),
          cursor: entries.length > 0 ? entries[entries.length - 1]!.seq : cursor,
          more: start + pageLimit < feed.length,
        }
      },
    },
    pops: {
      async create(record) {
        if (!accounts.has(record.accountId)) throw new NotFound('pop refers to a record that does not exist')
        if (pops.has(record.id)) throw new Conflict('pop id already exists')
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
    signingKeys: {
      async create(record) {
        if (signingKeys.has(record.kid)) throw new Conflict('signing key id already exists')
        signingKeys.set(record.kid, { ...record })
      },
      async list() {
        return [...signingKeys.values()].sort((a, b) => a.createdAt - b.createdAt)
      },
      async retireAllExcept(kid, at) {
        for (const record of signingKeys.values()) {
          if (record.kid !== kid && record.retiredAt === null) {
            signingKeys.set(record.kid, { ...record, retiredAt: at })
          }
        }
      },
      async prune(before) {
        let removed = 0
        for (const record of [...signingKeys.values()]) {
          if (record.retiredAt !== null && record.retiredAt < before) {
            signingKeys.delete(record.kid)
            removed++
          }
        }
        return removed
      },
    },
    settings: {
      async get(name) {
        return settings.get(name)
      },
      async setIfAbsent(name, value) {
        const existing = settings.get(name)
        if (existing !== undefined) return existing
        settings.set(name, value)
        return value
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
      const kept = feed.filter((e) => !('token' in e) || e.token.expiresAt > at)
      for (const e of feed) if ('token' in e && e.token.expiresAt <= at) revokedJtis.delete(e.token.jti)
      purged += feed.length - kept.length
      feed = kept
      return purged
    },
    async close() {},
  }
}
