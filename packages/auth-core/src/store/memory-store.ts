import { Conflict } from '../errors.js'
import type { ApiKeyRecord, KeyStore, RevokedKey, RevokedToken, SigningKeyRecord } from './types.js'
import { resolveRevocationPageLimit } from './types.js'

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** The clock that tells which revoked tokens have expired (ms). Default is `Date.now`. */
  now?: () => number
}

/**
 * An in-memory {@link KeyStore}, for tests and throwaway runs. Development only: everything is lost
 * when the process ends, and nothing is shared with other processes (the CLI cannot reach it).
 *
 * @example
 * ```ts
 * const store = createMemoryStore()
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): KeyStore {
  const now = options.now ?? Date.now
  const keys = new Map<string, ApiKeyRecord>()
  const keysByHash = new Map<string, string>()
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

  function insert(record: ApiKeyRecord): void {
    if (keys.has(record.id)) throw new Conflict('api key id already exists')
    if (keysByHash.has(record.hash)) throw new Conflict('api key already exists')
    keys.set(record.id, { ...record })
    keysByHash.set(record.hash, record.id)
  }
  function countLive(accountId: string): number {
    let count = 0
    for (const k of keys.values()) if (k.accountId === accountId && k.deletedAt === null) count++
    return count
  }

  return {
    description: 'memory',
    apiKeys: {
      async create(record) {
        insert(record)
      },
      // Counted and inserted in one synchronous step: nothing else runs in between.
      async createWithinLimit(record, maxLive) {
        if (countLive(record.accountId) >= maxLive) return false
        insert(record)
        return true
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
        return countLive(accountId)
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
    async purgeExpired() {
      const at = now()
      const kept = feed.filter((e) => !('token' in e) || e.token.expiresAt > at)
      for (const e of feed) if ('token' in e && e.token.expiresAt <= at) revokedJtis.delete(e.token.jti)
      const purged = feed.length - kept.length
      feed = kept
      return purged
    },
    async close() {},
  }
}
