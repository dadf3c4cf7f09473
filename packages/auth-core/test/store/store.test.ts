import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgresServer, type PostgresServer } from '@eyepop/real-sdks/testing/postgres-server'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../src/store/memory-store.js'
import { createPostgresStore } from '../../src/store/postgres-store.js'
import { createSqliteStore } from '../../src/store/sqlite-store.js'
import type { ApiKeyRecord, KeyStore, SigningKeyRecord } from '../../src/store/types.js'

/**
 * The key store contract, run against every implementation: what a key service, the emulator, its
 * CLI and the token route rely on must hold whichever store is configured.
 */

const T0 = Date.UTC(2025, 0, 15, 12)
const ALICE = '11111111-1111-4111-8111-111111111111'
const BOB = '22222222-2222-4222-8222-222222222222'

let dir: string
let fileCount = 0

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'auth-core-store-'))
})

/** The PostgreSQL server and database of this file, started by the first case that needs it. */
let postgres: Promise<{ server: PostgresServer; database: string }> | undefined
let schemaCount = 0

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await (await postgres?.catch(() => undefined))?.server.close()
})

/**
 * A PostgreSQL store in a schema of its own: each case starts from empty tables. Over the Unix
 * socket, where no password is exchanged: the cases connect anew each time.
 */
async function openPostgresStore(now: () => number): Promise<KeyStore> {
  postgres ??= startPostgresServer().then(async (server) => ({ server, database: await server.createDatabase() }))
  const { server, database } = await postgres
  const schema = `case_${++schemaCount}`
  await server.sql(database, `CREATE SCHEMA ${schema}`)
  return createPostgresStore({ connectionString: server.url(database, { schema, socket: true }), now, maxConnections: 4 })
}

type StoreFactory = (now: () => number) => KeyStore | Promise<KeyStore>

const implementations: Array<[string, StoreFactory]> = [
  ['createMemoryStore', (now) => createMemoryStore({ now })],
  [
    'createSqliteStore',
    (now) => createSqliteStore({ filename: join(dir, `store-${++fileCount}.db`), now }),
  ],
  ['createPostgresStore', openPostgresStore],
]

function apiKey(overrides: Partial<ApiKeyRecord> & { id: string }): ApiKeyRecord {
  return {
    accountId: ALICE,
    name: `key ${overrides.id}`,
    hash: `hash-${overrides.id}`,
    hint: 'abcd',
    createdAt: T0,
    expiresAt: null,
    lastUsedAt: null,
    deletedAt: null,
    ...overrides,
  }
}

function signingKey(
  kid: string,
  createdAt: number,
  retiredAt: number | null = null,
): SigningKeyRecord {
  return {
    kid,
    alg: 'EdDSA',
    privateJwk: {
      kty: 'OKP',
      crv: 'Ed25519',
      x: `x-${kid}`,
      d: `d-${kid}`,
      kid,
      alg: 'EdDSA',
      use: 'sig',
    },
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: `x-${kid}`, kid, alg: 'EdDSA', use: 'sig' },
    createdAt,
    retiredAt,
  }
}

describe.each(implementations)('%s', (_name, factory) => {
  let store: KeyStore
  let clock: number

  // The first PostgreSQL case starts the server (initdb and start: seconds, more on a busy machine).
  beforeEach(async () => {
    clock = T0
    store = await factory(() => clock)
  }, 60_000)

  afterEach(async () => {
    await store.close()
  })

  describe('apiKeys', () => {
    describe('create() and get()', () => {
      it('keeps a key of any account id: accounts are the application\'s, not the store\'s', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_x', accountId: '33333333-3333-4333-8333-333333333333' }))
        expect(await store.apiKeys.get('key_x')).toMatchObject({ accountId: '33333333-3333-4333-8333-333333333333' })
      })

      it('round-trips every field', async () => {
        const record = apiKey({
          id: 'key_a',
          expiresAt: T0 + 5000,
          lastUsedAt: T0 + 1,
          name: 'Clé 🚀',
        })
        await store.apiKeys.create(record)
        expect(await store.apiKeys.get('key_a')).toEqual(record)
        expect(await store.apiKeys.get('key_missing')).toBeUndefined()
      })

      it('rejects a duplicate id with ERR_CONFLICT', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        await expect(
          store.apiKeys.create(apiKey({ id: 'key_a', hash: 'other' })),
        ).rejects.toMatchObject({
          code: 'ERR_CONFLICT',
        })
      })

      it('rejects a duplicate hash with ERR_CONFLICT and keeps the first key', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a', hash: 'same' }))
        await expect(
          store.apiKeys.create(apiKey({ id: 'key_b', hash: 'same' })),
        ).rejects.toMatchObject({
          code: 'ERR_CONFLICT',
        })
        expect(await store.apiKeys.get('key_b')).toBeUndefined()
        expect((await store.apiKeys.findByHash('same'))?.id).toBe('key_a')
      })
    })

    describe('findByHash()', () => {
      it('finds a key by its hash, deleted or not', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        await store.apiKeys.create(apiKey({ id: 'key_b' }))
        expect((await store.apiKeys.findByHash('hash-key_b'))?.id).toBe('key_b')
        await store.apiKeys.markDeleted('key_b', T0 + 1)
        expect(await store.apiKeys.findByHash('hash-key_b')).toMatchObject({
          id: 'key_b',
          deletedAt: T0 + 1,
        })
      })

      it('resolves undefined for an unknown hash', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        expect(await store.apiKeys.findByHash('hash-key_')).toBeUndefined()
        expect(await store.apiKeys.findByHash('')).toBeUndefined()
      })
    })

    describe('list()', () => {
      beforeEach(async () => {
        // Inserted out of order, so ordering comes from createdAt and not insertion.
        await store.apiKeys.create(apiKey({ id: 'key_2', createdAt: T0 + 2 }))
        await store.apiKeys.create(apiKey({ id: 'key_0', createdAt: T0 }))
        await store.apiKeys.create(apiKey({ id: 'key_3', createdAt: T0 + 3 }))
        await store.apiKeys.create(apiKey({ id: 'key_1', createdAt: T0 + 1 }))
        await store.apiKeys.create(apiKey({ id: 'key_bob', accountId: BOB, createdAt: T0 - 5 }))
        await store.apiKeys.markDeleted('key_1', T0 + 10)
      })

      it("lists an account's live keys, oldest first", async () => {
        expect((await store.apiKeys.list(ALICE)).map((k) => k.id)).toEqual([
          'key_0',
          'key_2',
          'key_3',
        ])
      })

      it('includes deleted keys with includeDeleted', async () => {
        const keys = await store.apiKeys.list(ALICE, { includeDeleted: true })
        expect(keys.map((k) => k.id)).toEqual(['key_0', 'key_1', 'key_2', 'key_3'])
        expect(keys[1]).toMatchObject({ id: 'key_1', deletedAt: T0 + 10 })
      })

      it('excludes deleted keys with includeDeleted: false', async () => {
        expect(await store.apiKeys.list(ALICE, { includeDeleted: false })).toHaveLength(3)
      })

      it('lists nothing for an account without keys', async () => {
        expect(await store.apiKeys.list('nobody', { includeDeleted: true })).toEqual([])
      })
    })

    describe('countLive()', () => {
      it("counts an account's keys that are not deleted", async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        await store.apiKeys.create(apiKey({ id: 'key_b' }))
        await store.apiKeys.create(apiKey({ id: 'key_c' }))
        await store.apiKeys.create(apiKey({ id: 'key_bob', accountId: BOB }))
        expect(await store.apiKeys.countLive(ALICE)).toBe(3)
        await store.apiKeys.markDeleted('key_b', T0)
        expect(await store.apiKeys.countLive(ALICE)).toBe(2)
        expect(await store.apiKeys.countLive(BOB)).toBe(1)
        expect(await store.apiKeys.countLive('nobody')).toBe(0)
      })
    })

    describe('createWithinLimit()', () => {
      it('creates while the account has fewer live keys than the limit, deleted ones not counted', async () => {
        expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_a' }), 2)).toBe(true)
        expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_b' }), 2)).toBe(true)
        expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_c' }), 2)).toBe(false)
        expect(await store.apiKeys.get('key_c')).toBeUndefined()
        // Another account has places of its own.
        expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_bob', accountId: BOB }), 2)).toBe(true)
        await store.apiKeys.markDeleted('key_a', T0)
        expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_c' }), 2)).toBe(true)
        expect((await store.apiKeys.list(ALICE)).map((k) => k.id)).toEqual(['key_b', 'key_c'])
      })

      it('leaves exactly the limit when creations race for the last places', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_first' }))
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.apiKeys.createWithinLimit(apiKey({ id: `key_${i}` }), 5)),
        )
        expect(results.filter(Boolean)).toHaveLength(4)
        expect(await store.apiKeys.countLive(ALICE)).toBe(5)
      })

      it('rejects a duplicate id or hash with Conflict, writing nothing', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        await expect(store.apiKeys.createWithinLimit(apiKey({ id: 'key_a', hash: 'other' }), 5)).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
        await expect(store.apiKeys.createWithinLimit(apiKey({ id: 'key_b', hash: 'hash-key_a' }), 5)).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
        expect(await store.apiKeys.countLive(ALICE)).toBe(1)
      })
    })

    describe('markDeleted()', () => {
      it('resolves true once, then false, and keeps the first deletion time', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        expect(await store.apiKeys.markDeleted('key_a', T0 + 1)).toBe(true)
        expect(await store.apiKeys.markDeleted('key_a', T0 + 2)).toBe(false)
        expect(await store.apiKeys.markDeleted('key_a', T0 + 3)).toBe(false)
        expect((await store.apiKeys.get('key_a'))?.deletedAt).toBe(T0 + 1)
      })

      it('resolves false for an unknown key', async () => {
        expect(await store.apiKeys.markDeleted('key_missing', T0)).toBe(false)
      })
    })

    describe('revocations.since()', () => {
      beforeEach(async () => {
        for (const id of ['key_a', 'key_b', 'key_c', 'key_d'])
          await store.apiKeys.create(apiKey({ id }))
      })

      it('resolves an empty page when nothing was deleted', async () => {
        const page = await store.revocations.since(0)
        expect(page.revoked).toEqual([])
        expect(await store.revocations.since(page.cursor)).toEqual(page)
      })

      it('lists every deletion from cursor 0, in deletion order', async () => {
        await store.apiKeys.markDeleted('key_c', T0 + 5)
        await store.apiKeys.markDeleted('key_a', T0 + 7)
        const page = await store.revocations.since(0)
        expect(page.revoked).toEqual([
          { id: 'key_c', deletedAt: T0 + 5 },
          { id: 'key_a', deletedAt: T0 + 7 },
        ])
        expect(page.cursor).toBeGreaterThan(0)
      })

      it('lists only deletions after a returned cursor, then nothing', async () => {
        await store.apiKeys.markDeleted('key_c', T0 + 5)
        const first = await store.revocations.since(0)
        await store.apiKeys.markDeleted('key_a', T0 + 7)
        await store.apiKeys.markDeleted('key_b', T0 + 8)
        const second = await store.revocations.since(first.cursor)
        expect(second.revoked).toEqual([
          { id: 'key_a', deletedAt: T0 + 7 },
          { id: 'key_b', deletedAt: T0 + 8 },
        ])
        expect(second.cursor).toBeGreaterThan(first.cursor)
        const third = await store.revocations.since(second.cursor)
        expect(third).toEqual({ revoked: [], revokedTokens: [], cursor: second.cursor, more: false })
      })

      it('does not list a key twice when it is deleted twice', async () => {
        await store.apiKeys.markDeleted('key_a', T0 + 1)
        const first = await store.revocations.since(0)
        await store.apiKeys.markDeleted('key_a', T0 + 2)
        expect((await store.revocations.since(0)).revoked).toEqual([
          { id: 'key_a', deletedAt: T0 + 1 },
        ])
        expect((await store.revocations.since(first.cursor)).revoked).toEqual([])
      })

      it('is not affected by keys deleted with an earlier timestamp later on', async () => {
        // The cursor follows the order of deletion, not deletedAt, so a late write with an
        // older clock reading is not skipped.
        await store.apiKeys.markDeleted('key_a', T0 + 100)
        const first = await store.revocations.since(0)
        await store.apiKeys.markDeleted('key_b', T0 + 50)
        expect((await store.revocations.since(first.cursor)).revoked).toEqual([
          { id: 'key_b', deletedAt: T0 + 50 },
        ])
      })
    })

    describe('revocations.since(cursor, limit)', () => {
      beforeEach(async () => {
        for (const id of ['key_a', 'key_b', 'key_c', 'key_d', 'key_e'])
          await store.apiKeys.create(apiKey({ id }))
      })

      it('answers pages of at most limit entries, saying whether more follow', async () => {
        for (const [i, id] of ['key_a', 'key_b', 'key_c'].entries()) await store.apiKeys.markDeleted(id, T0 + i)
        await store.revocations.revokeToken('jti-1', T0 + 60_000, T0 + 3)
        await store.apiKeys.markDeleted('key_d', T0 + 4)
        const first = await store.revocations.since(0, 2)
        expect(first).toMatchObject({ revoked: [{ id: 'key_a' }, { id: 'key_b' }], revokedTokens: [], more: true })
        const second = await store.revocations.since(first.cursor, 2)
        expect(second).toMatchObject({ revoked: [{ id: 'key_c' }], revokedTokens: [{ jti: 'jti-1' }], more: true })
        const third = await store.revocations.since(second.cursor, 2)
        expect(third).toMatchObject({ revoked: [{ id: 'key_d' }], revokedTokens: [], more: false })
        // A page that ends exactly at the last entry has no more.
        expect((await store.revocations.since(second.cursor, 1)).more).toBe(false)
        expect(await store.revocations.since(third.cursor, 2)).toEqual({ revoked: [], revokedTokens: [], cursor: third.cursor, more: false })
        // The pages together are the whole feed.
        expect((await store.revocations.since(0)).revoked.map((r) => r.id)).toEqual(['key_a', 'key_b', 'key_c', 'key_d'])
      })

      it('answers at most 1,000 entries by default', async () => {
        for (let i = 0; i < 1001; i++) await store.revocations.revokeToken(`jti-${i}`, T0 + 60_000, T0)
        const first = await store.revocations.since(0)
        expect(first.revokedTokens).toHaveLength(1000)
        expect(first.more).toBe(true)
        const rest = await store.revocations.since(first.cursor)
        expect(rest.revokedTokens).toEqual([{ jti: 'jti-1000', revokedAt: T0, expiresAt: T0 + 60_000 }])
        expect(rest.more).toBe(false)
      })

      it.each([0, -1, 1.5, 1001, Number.NaN])('rejects limit %s with a TypeError', async (limit) => {
        await expect(store.revocations.since(0, limit)).rejects.toThrow(TypeError)
      })
    })

    describe('purgeExpired()', () => {
      it('drops revoked tokens past their own expiry from the feed, never deleted keys', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        await store.revocations.revokeToken('jti-short', T0 + 1_000, T0)
        await store.apiKeys.markDeleted('key_a', T0)
        await store.revocations.revokeToken('jti-long', T0 + 60_000, T0)
        clock = T0 + 1_000
        expect(await store.purgeExpired()).toBe(1)
        const page = await store.revocations.since(0)
        expect(page.revoked).toEqual([{ id: 'key_a', deletedAt: T0 }])
        expect(page.revokedTokens?.map((t) => t.jti)).toEqual(['jti-long'])
        expect(await store.revocations.isTokenRevoked('jti-short')).toBe(false)
        expect(await store.revocations.isTokenRevoked('jti-long')).toBe(true)
        // The cursor still moves forward only: a new entry comes after the ones already read.
        await store.revocations.revokeToken('jti-next', T0 + 60_000, T0 + 1_000)
        expect((await store.revocations.since(page.cursor)).revokedTokens?.map((t) => t.jti)).toEqual(['jti-next'])
      })
    })

    describe('revocations.revokeToken()', () => {
      it('revokes a token once and lists it in the same feed as key deletions, in order', async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        const start = await store.revocations.since(0)
        expect(await store.revocations.isTokenRevoked('jti-1')).toBe(false)
        expect(await store.revocations.revokeToken('jti-1', T0 + 60_000, T0 + 1)).toBe(true)
        expect(await store.revocations.revokeToken('jti-1', T0 + 60_000, T0 + 2)).toBe(false)
        await store.apiKeys.markDeleted('key_a', T0 + 3)
        expect(await store.revocations.isTokenRevoked('jti-1')).toBe(true)
        const page = await store.revocations.since(start.cursor)
        expect(page.revokedTokens).toEqual([{ jti: 'jti-1', revokedAt: T0 + 1, expiresAt: T0 + 60_000 }])
        expect(page.revoked).toEqual([{ id: 'key_a', deletedAt: T0 + 3 }])
        const after = await store.revocations.since(page.cursor)
        expect(after.revoked).toEqual([])
        expect(after.revokedTokens).toEqual([])
      })
    })

    describe('recordUse()', () => {
      beforeEach(async () => {
        await store.apiKeys.create(apiKey({ id: 'key_a' }))
        await store.apiKeys.create(apiKey({ id: 'key_b' }))
      })

      it('records the last use of several keys in one batch', async () => {
        await store.apiKeys.recordUse([
          { id: 'key_a', at: T0 + 10 },
          { id: 'key_b', at: T0 + 20 },
        ])
        expect((await store.apiKeys.get('key_a'))?.lastUsedAt).toBe(T0 + 10)
        expect((await store.apiKeys.get('key_b'))?.lastUsedAt).toBe(T0 + 20)
      })

      it('ignores a time older than the stored one', async () => {
        await store.apiKeys.recordUse([{ id: 'key_a', at: T0 + 10 }])
        await store.apiKeys.recordUse([{ id: 'key_a', at: T0 + 5 }])
        expect((await store.apiKeys.get('key_a'))?.lastUsedAt).toBe(T0 + 10)
        await store.apiKeys.recordUse([{ id: 'key_a', at: T0 + 11 }])
        expect((await store.apiKeys.get('key_a'))?.lastUsedAt).toBe(T0 + 11)
      })

      it('keeps the newest time when a batch holds several uses of one key', async () => {
        await store.apiKeys.recordUse([
          { id: 'key_a', at: T0 + 30 },
          { id: 'key_a', at: T0 + 10 },
          { id: 'key_a', at: T0 + 20 },
        ])
        expect((await store.apiKeys.get('key_a'))?.lastUsedAt).toBe(T0 + 30)
      })

      it('ignores unknown keys and empty batches', async () => {
        await store.apiKeys.recordUse([{ id: 'key_missing', at: T0 }])
        await store.apiKeys.recordUse([])
        expect(await store.apiKeys.get('key_missing')).toBeUndefined()
        expect((await store.apiKeys.get('key_a'))?.lastUsedAt).toBeNull()
      })
    })
  })

  describe('signingKeys', () => {
    it('round-trips keys, oldest first, JWKs included', async () => {
      await store.signingKeys.create(signingKey('k2', T0 + 2))
      await store.signingKeys.create(signingKey('k1', T0 + 1, T0 + 3))
      expect(await store.signingKeys.list()).toEqual([
        signingKey('k1', T0 + 1, T0 + 3),
        signingKey('k2', T0 + 2),
      ])
    })

    it('rejects a duplicate kid with ERR_CONFLICT', async () => {
      await store.signingKeys.create(signingKey('k1', T0))
      await expect(store.signingKeys.create(signingKey('k1', T0 + 1))).rejects.toMatchObject({
        code: 'ERR_CONFLICT',
      })
    })

    describe('retireAllExcept()', () => {
      it('retires every other live key and leaves earlier retirements alone', async () => {
        await store.signingKeys.create(signingKey('old', T0, T0 + 1))
        await store.signingKeys.create(signingKey('prev', T0 + 2))
        await store.signingKeys.create(signingKey('new', T0 + 3))
        await store.signingKeys.retireAllExcept('new', T0 + 4)
        const byKid = Object.fromEntries(
          (await store.signingKeys.list()).map((k) => [k.kid, k.retiredAt]),
        )
        expect(byKid).toEqual({ old: T0 + 1, prev: T0 + 4, new: null })
      })
    })

    describe('prune()', () => {
      it('removes keys retired strictly before the time and counts them', async () => {
        await store.signingKeys.create(signingKey('a', T0, T0 + 10))
        await store.signingKeys.create(signingKey('b', T0, T0 + 20))
        await store.signingKeys.create(signingKey('c', T0 + 1))
        expect(await store.signingKeys.prune(T0 + 20)).toBe(1)
        expect((await store.signingKeys.list()).map((k) => k.kid)).toEqual(['b', 'c'])
        expect(await store.signingKeys.prune(T0 + 10_000)).toBe(1)
        expect((await store.signingKeys.list()).map((k) => k.kid)).toEqual(['c'])
        expect(await store.signingKeys.prune(T0 + 10_000)).toBe(0)
      })
    })
  })

  describe('settings', () => {
    it('resolves undefined for an unset setting', async () => {
      expect(await store.settings.get('pepper')).toBeUndefined()
    })

    it('sets a setting once: later values lose to the first', async () => {
      expect(await store.settings.setIfAbsent('pepper', 'first')).toBe('first')
      expect(await store.settings.setIfAbsent('pepper', 'second')).toBe('first')
      expect(await store.settings.get('pepper')).toBe('first')
    })

    it('gives racing callers the same winning value', async () => {
      const values = Array.from({ length: 10 }, (_, i) => `value-${i}`)
      const results = await Promise.all(values.map((v) => store.settings.setIfAbsent('account', v)))
      expect(new Set(results).size).toBe(1)
      expect(values).toContain(results[0])
      expect(await store.settings.get('account')).toBe(results[0])
    })

    it('keeps settings apart by name', async () => {
      await store.settings.setIfAbsent('a', '1')
      expect(await store.settings.setIfAbsent('b', '2')).toBe('2')
    })
  })

  describe('close()', () => {
    it('can be called twice', async () => {
      await store.close()
      await expect(store.close()).resolves.toBeUndefined()
    })
  })
})
