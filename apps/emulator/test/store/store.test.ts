import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ApiKeyRecord } from '@eyepop/auth-core'
import { startPostgresServer, type PostgresServer } from '@eyepop/real-sdks/testing/postgres-server'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createMemoryEmulatorStore } from '../../src/store/memory-store.js'
import { createPostgresEmulatorStore } from '../../src/store/postgres-store.js'
import { createSqliteEmulatorStore } from '../../src/store/sqlite-store.js'
import type { AuditEventInput, EmulatorStore } from '../../src/store/types.js'

/**
 * The emulator store's contract beyond auth-core's key store (whose own suite runs the key store
 * under it): accounts, Pops, the audit log and oidc-provider's artifacts, run against every
 * implementation (PostgreSQL on a throwaway server, a schema per case; it fails, never skips,
 * where PostgreSQL is not installed).
 */

const T0 = Date.UTC(2025, 0, 15, 12)
const ALICE = '11111111-1111-4111-8111-111111111111'
const BOB = '22222222-2222-4222-8222-222222222222'

let dir: string
let fileCount = 0

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emulator-store-'))
})

/** The PostgreSQL server and database of this file, started by the first case that needs it. */
let postgres: Promise<{ server: PostgresServer; database: string }> | undefined
let schemaCount = 0

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await (await postgres?.catch(() => undefined))?.server.close()
})

/** The server and database of this file. */
function postgresDatabase(): Promise<{ server: PostgresServer; database: string }> {
  postgres ??= startPostgresServer().then(async (server) => ({ server, database: await server.createDatabase() }))
  return postgres
}

/**
 * A PostgreSQL store in a schema of its own: each case starts from empty tables. Over the Unix
 * socket, where no password is exchanged: the cases connect anew each time.
 */
async function openPostgresStore(now: () => number): Promise<EmulatorStore> {
  const { server, database } = await postgresDatabase()
  const schema = `case_${++schemaCount}`
  await server.sql(database, `CREATE SCHEMA ${schema}`)
  return createPostgresEmulatorStore({ connectionString: server.url(database, { schema, socket: true }), now, maxConnections: 4 })
}

type StoreFactory = (now: () => number) => EmulatorStore | Promise<EmulatorStore>

const implementations: Array<[string, StoreFactory]> = [
  ['createMemoryEmulatorStore', (now) => createMemoryEmulatorStore({ now })],
  ['createSqliteEmulatorStore', (now) => createSqliteEmulatorStore({ filename: join(dir, `store-${++fileCount}.db`), now })],
  ['createPostgresEmulatorStore', openPostgresStore],
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

describe.each(implementations)('%s', (_name, factory) => {
  let store: EmulatorStore
  let clock: number

  beforeEach(async () => {
    clock = T0
    store = await factory(() => clock)
    await store.accounts.create({
      id: ALICE,
      email: 'alice@example.com',
      name: 'Alice',
      createdAt: T0,
      passwordHash: null,
    })
    await store.accounts.create({
      id: BOB,
      email: 'bob@example.com',
      name: 'Bob',
      createdAt: T0 - 1000,
      passwordHash: null,
    })
    // The first PostgreSQL case starts the server (initdb, pg_ctl start).
  }, 60_000)

  afterEach(async () => {
    await store.close()
  })

  describe('records of an unknown account', () => {
    it('rejects an api key or a pop of an account that does not exist with ERR_NOT_FOUND', async () => {
      const ghost = '33333333-3333-4333-8333-333333333333'
      await expect(store.apiKeys.create(apiKey({ id: 'key_ghost', accountId: ghost }))).rejects.toMatchObject({
        code: 'ERR_NOT_FOUND',
      })
      await expect(
        store.pops.create({ id: 'f'.repeat(32), accountId: ghost, name: 'ghost', createdAt: T0 }),
      ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' })
      expect(await store.apiKeys.get('key_ghost')).toBeUndefined()
    })
  })

  describe('apiKeys.createWithinLimit()', () => {
    it('creates a key while the account has fewer live keys than the limit, deleted keys not counted', async () => {
      expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_1' }), 2)).toBe(true)
      expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_2' }), 2)).toBe(true)
      expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_3' }), 2)).toBe(false)
      expect(await store.apiKeys.get('key_3')).toBeUndefined()
      expect(await store.apiKeys.markDeleted('key_1', T0 + 1)).toBe(true)
      expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_3' }), 2)).toBe(true)
      expect((await store.apiKeys.list(ALICE)).map((k) => k.id)).toEqual(['key_2', 'key_3'])
    })

    it('leaves exactly the limit when twice as many creations race', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.apiKeys.createWithinLimit(apiKey({ id: `key_${i}` }), 4)),
      )
      expect(results.filter(Boolean)).toHaveLength(4)
      expect(await store.apiKeys.countLive(ALICE)).toBe(4)
    })

    it('rejects a key of an unknown account with ERR_NOT_FOUND and a duplicate with ERR_CONFLICT', async () => {
      const ghost = '33333333-3333-4333-8333-333333333333'
      await expect(store.apiKeys.createWithinLimit(apiKey({ id: 'key_ghost', accountId: ghost }), 5)).rejects.toMatchObject({
        code: 'ERR_NOT_FOUND',
      })
      await store.apiKeys.createWithinLimit(apiKey({ id: 'key_1' }), 5)
      await expect(store.apiKeys.createWithinLimit(apiKey({ id: 'key_1' }), 5)).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
      // A failed creation does not hold up the next one.
      expect(await store.apiKeys.createWithinLimit(apiKey({ id: 'key_2' }), 5)).toBe(true)
    })
  })

  describe('accounts', () => {
    it('gets an account by id and by email, ignoring the email case', async () => {
      const alice = { id: ALICE, email: 'alice@example.com', name: 'Alice', createdAt: T0, passwordHash: null }
      expect(await store.accounts.get(ALICE)).toEqual(alice)
      expect(await store.accounts.findByEmail('ALICE@Example.com')).toEqual(alice)
      expect(await store.accounts.get('nobody')).toBeUndefined()
      expect(await store.accounts.findByEmail('nobody@example.com')).toBeUndefined()
    })

    it('round-trips a password hash given at creation', async () => {
      const carol = { id: 'c', email: 'carol@example.com', name: 'Carol', createdAt: T0, passwordHash: 'scrypt$1' }
      await store.accounts.create(carol)
      expect(await store.accounts.get('c')).toEqual(carol)
      expect(await store.accounts.findByEmail('carol@example.com')).toEqual(carol)
    })

    describe('setPasswordHash()', () => {
      it('replaces the hash of one account and resolves true', async () => {
        expect(await store.accounts.setPasswordHash(ALICE, 'scrypt$a')).toBe(true)
        expect((await store.accounts.get(ALICE))?.passwordHash).toBe('scrypt$a')
        expect((await store.accounts.findByEmail('alice@example.com'))?.passwordHash).toBe('scrypt$a')
        expect((await store.accounts.get(BOB))?.passwordHash).toBeNull()
        expect(await store.accounts.setPasswordHash(ALICE, 'scrypt$b')).toBe(true)
        expect((await store.accounts.get(ALICE))?.passwordHash).toBe('scrypt$b')
      })

      it('clears the hash with null', async () => {
        await store.accounts.setPasswordHash(ALICE, 'scrypt$a')
        expect(await store.accounts.setPasswordHash(ALICE, null)).toBe(true)
        expect((await store.accounts.get(ALICE))?.passwordHash).toBeNull()
      })

      it('resolves false for an unknown account and creates nothing', async () => {
        expect(await store.accounts.setPasswordHash('nobody', 'scrypt$a')).toBe(false)
        expect(await store.accounts.list()).toHaveLength(2)
      })
    })

    it('lists accounts oldest first', async () => {
      expect((await store.accounts.list()).map((a) => a.id)).toEqual([BOB, ALICE])
    })

    describe('on a duplicate', () => {
      it('rejects a duplicate id with ERR_CONFLICT', async () => {
        await expect(
          store.accounts.create({
            id: ALICE,
            email: 'other@example.com',
            name: 'x',
            createdAt: T0,
            passwordHash: null,
          }),
        ).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
      })

      it('rejects a duplicate email in another case with ERR_CONFLICT', async () => {
        await expect(
          store.accounts.create({ id: 'c', email: 'Alice@EXAMPLE.com', name: 'x', createdAt: T0, passwordHash: null }),
        ).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
        expect(await store.accounts.list()).toHaveLength(2)
      })
    })
  })

  describe('pops', () => {
    it('creates, gets and lists Pops per account, oldest first', async () => {
      await store.pops.create({ id: 'p2', accountId: ALICE, name: 'two', createdAt: T0 + 2 })
      await store.pops.create({ id: 'p1', accountId: ALICE, name: 'one', createdAt: T0 + 1 })
      await store.pops.create({ id: 'p3', accountId: BOB, name: 'bob', createdAt: T0 })
      expect(await store.pops.get('p1')).toEqual({
        id: 'p1',
        accountId: ALICE,
        name: 'one',
        createdAt: T0 + 1,
      })
      expect((await store.pops.list(ALICE)).map((p) => p.id)).toEqual(['p1', 'p2'])
      expect(await store.pops.get('p-missing')).toBeUndefined()
    })

    it('rejects a duplicate id with ERR_CONFLICT', async () => {
      await store.pops.create({ id: 'p1', accountId: ALICE, name: 'one', createdAt: T0 })
      await expect(
        store.pops.create({ id: 'p1', accountId: ALICE, name: 'again', createdAt: T0 }),
      ).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
    })
  })

  describe('audit', () => {
    const event = (overrides: Partial<AuditEventInput> = {}): AuditEventInput => ({
      accountId: ALICE,
      keyId: 'key_a',
      type: 'key.created',
      at: T0,
      detail: { name: 'CI', expires: 'never' },
      ...overrides,
    })

    describe('append() and list()', () => {
      it('round-trips every field and lists an account’s events newest first', async () => {
        await store.audit.append([
          event(),
          event({ accountId: BOB, keyId: 'key_bob', detail: {} }),
          event({ type: 'key.first_used', at: T0 + 1, detail: {} }),
        ])
        await store.audit.append([event({ type: 'auth.failed', keyId: null, at: T0 + 2, detail: { reason: 'expired' } })])
        const events = await store.audit.list(ALICE)
        expect(events.map((e) => e.type)).toEqual(['auth.failed', 'key.first_used', 'key.created'])
        expect(events[0]).toEqual({
          id: events[0]!.id,
          accountId: ALICE,
          keyId: null,
          type: 'auth.failed',
          at: T0 + 2,
          detail: { reason: 'expired' },
        })
        expect(events[2]).toMatchObject({ keyId: 'key_a', at: T0, detail: { name: 'CI', expires: 'never' } })
        expect(events[0]!.id).toBeGreaterThan(events[1]!.id)
        expect(events[1]!.id).toBeGreaterThan(events[2]!.id)
        expect(await store.audit.list(BOB)).toEqual([expect.objectContaining({ keyId: 'key_bob', detail: {} })])
      })

      it('orders by append order, not by time', async () => {
        await store.audit.append([event({ at: T0 + 10, type: 'key.created' })])
        await store.audit.append([event({ at: T0 + 5, type: 'key.deleted' })])
        expect((await store.audit.list(ALICE)).map((e) => e.type)).toEqual(['key.deleted', 'key.created'])
      })

      it('does nothing with an empty batch and lists nothing for an account without events', async () => {
        await store.audit.append([])
        expect(await store.audit.list(ALICE)).toEqual([])
        expect(await store.audit.list('nobody')).toEqual([])
      })

      it('keeps a detail with characters that need escaping', async () => {
        const detail = { name: 'Clé "prod" 🚀 \\ \n', expires: '2025-04-15T12:00:00.000Z' }
        await store.audit.append([event({ detail })])
        expect((await store.audit.list(ALICE))[0]!.detail).toEqual(detail)
      })
    })

    describe('list() options', () => {
      beforeEach(async () => {
        await store.audit.append(
          Array.from({ length: 150 }, (_, i) => event({ at: T0 + i, keyId: i % 2 === 0 ? 'key_even' : 'key_odd' })),
        )
        await store.audit.append([event({ accountId: BOB, keyId: 'key_even' })])
      })

      it('returns 100 events by default', async () => {
        const page = await store.audit.list(ALICE)
        expect(page).toHaveLength(100)
        expect(page[0]!.at).toBe(T0 + 149)
        expect(page[99]!.at).toBe(T0 + 50)
      })

      it('pages with limit and before (the id of the last event of a page)', async () => {
        const first = await store.audit.list(ALICE, { limit: 60 })
        const second = await store.audit.list(ALICE, { limit: 60, before: first.at(-1)!.id })
        const third = await store.audit.list(ALICE, { limit: 60, before: second.at(-1)!.id })
        expect([first, second, third].map((p) => p.length)).toEqual([60, 60, 30])
        const all = [...first, ...second, ...third].map((e) => e.at)
        expect(all).toEqual(Array.from({ length: 150 }, (_, i) => T0 + 149 - i))
        expect(await store.audit.list(ALICE, { before: third.at(-1)!.id })).toEqual([])
      })

      it('filters by key, within the account only', async () => {
        const odd = await store.audit.list(ALICE, { keyId: 'key_odd', limit: 1000 })
        expect(odd).toHaveLength(75)
        expect(odd.every((e) => e.keyId === 'key_odd' && e.accountId === ALICE)).toBe(true)
        const page = await store.audit.list(ALICE, { keyId: 'key_even', limit: 10, before: odd[0]!.id })
        expect(page.map((e) => e.at)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + 148 - 2 * i))
        expect(await store.audit.list(ALICE, { keyId: 'key_missing' })).toEqual([])
      })

      it('returns at most 1000 events and refuses a limit outside 1 to 1000 with a TypeError', async () => {
        expect(await store.audit.list(ALICE, { limit: 1000 })).toHaveLength(150)
        for (const limit of [0, 1001, 1.5, Number.NaN]) {
          await expect(store.audit.list(ALICE, { limit })).rejects.toThrow(TypeError)
        }
        await expect(store.audit.list(ALICE, { before: 1.5 })).rejects.toThrow(TypeError)
      })
    })
  })

  describe('oidc', () => {
    describe('upsert() and find()', () => {
      it('stores a payload per model and id', async () => {
        await store.oidc.upsert('Session', 's1', { accountId: ALICE, nested: { a: [1, 2] } })
        await store.oidc.upsert('Grant', 's1', { accountId: BOB })
        expect(await store.oidc.find('Session', 's1')).toEqual({
          accountId: ALICE,
          nested: { a: [1, 2] },
        })
        expect(await store.oidc.find('Grant', 's1')).toEqual({ accountId: BOB })
        expect(await store.oidc.find('Session', 's2')).toBeUndefined()
        expect(await store.oidc.find('Interaction', 's1')).toBeUndefined()
      })

      it('replaces the payload on a second upsert', async () => {
        await store.oidc.upsert('Session', 's1', { v: 1, uid: 'u1' })
        await store.oidc.upsert('Session', 's1', { v: 2, uid: 'u2' })
        expect(await store.oidc.find('Session', 's1')).toEqual({ v: 2, uid: 'u2' })
        expect(await store.oidc.findByUid('Session', 'u1')).toBeUndefined()
        expect(await store.oidc.findByUid('Session', 'u2')).toEqual({ v: 2, uid: 'u2' })
      })

      it('does not let a later change to the given payload reach the store', async () => {
        const payload: Record<string, unknown> = { v: 1 }
        await store.oidc.upsert('Session', 's1', payload)
        payload.v = 2
        expect(await store.oidc.find('Session', 's1')).toEqual({ v: 1 })
      })
    })

    describe('expiry', () => {
      it('finds a payload until expiresInSeconds have passed', async () => {
        await store.oidc.upsert('AuthorizationCode', 'c1', { uid: 'u1', userCode: 'ABCD-EFGH' }, 60)
        clock = T0 + 59_999
        expect(await store.oidc.find('AuthorizationCode', 'c1')).toBeDefined()
        expect(await store.oidc.findByUid('AuthorizationCode', 'u1')).toBeDefined()
        expect(await store.oidc.findByUserCode('AuthorizationCode', 'ABCD-EFGH')).toBeDefined()
        clock = T0 + 60_000
        expect(await store.oidc.find('AuthorizationCode', 'c1')).toBeUndefined()
        expect(await store.oidc.findByUid('AuthorizationCode', 'u1')).toBeUndefined()
        expect(await store.oidc.findByUserCode('AuthorizationCode', 'ABCD-EFGH')).toBeUndefined()
      })

      it('never expires a payload stored without expiresInSeconds', async () => {
        await store.oidc.upsert('Client', 'c1', { v: 1 })
        clock = T0 + 10 * 365 * 86_400_000
        expect(await store.oidc.find('Client', 'c1')).toEqual({ v: 1 })
      })

      it('restarts the expiry on upsert', async () => {
        await store.oidc.upsert('Session', 's1', { v: 1 }, 10)
        clock = T0 + 9_000
        await store.oidc.upsert('Session', 's1', { v: 2 }, 10)
        clock = T0 + 15_000
        expect(await store.oidc.find('Session', 's1')).toEqual({ v: 2 })
      })
    })

    describe('findByUid() and findByUserCode()', () => {
      it('find a live payload by uid or user code within its model only', async () => {
        await store.oidc.upsert('Interaction', 'i1', { uid: 'u1' }, 60)
        await store.oidc.upsert('DeviceCode', 'd1', { userCode: 'WXYZ-1234', uid: 'u9' }, 60)
        expect(await store.oidc.findByUid('Interaction', 'u1')).toEqual({ uid: 'u1' })
        expect(await store.oidc.findByUid('Session', 'u1')).toBeUndefined()
        expect(await store.oidc.findByUserCode('DeviceCode', 'WXYZ-1234')).toEqual({
          userCode: 'WXYZ-1234',
          uid: 'u9',
        })
        expect(await store.oidc.findByUserCode('Interaction', 'WXYZ-1234')).toBeUndefined()
        expect(await store.oidc.findByUserCode('DeviceCode', 'nope')).toBeUndefined()
      })
    })

    describe('consume()', () => {
      it('marks a payload consumed at the current time in seconds, keeping its fields', async () => {
        await store.oidc.upsert('AuthorizationCode', 'c1', { grantId: 'g1', uid: 'u1' }, 60)
        clock = T0 + 1_500
        await store.oidc.consume('AuthorizationCode', 'c1')
        const consumed = Math.floor((T0 + 1_500) / 1000)
        expect(await store.oidc.find('AuthorizationCode', 'c1')).toEqual({
          grantId: 'g1',
          uid: 'u1',
          consumed,
        })
        expect(await store.oidc.findByUid('AuthorizationCode', 'u1')).toMatchObject({ consumed })
      })

      it('does nothing for an unknown payload', async () => {
        await store.oidc.consume('AuthorizationCode', 'missing')
        expect(await store.oidc.find('AuthorizationCode', 'missing')).toBeUndefined()
      })
    })

    describe('destroy()', () => {
      it('removes one payload only', async () => {
        await store.oidc.upsert('Session', 's1', { uid: 'u1' })
        await store.oidc.upsert('Session', 's2', { uid: 'u2' })
        await store.oidc.destroy('Session', 's1')
        await store.oidc.destroy('Session', 'missing')
        expect(await store.oidc.find('Session', 's1')).toBeUndefined()
        expect(await store.oidc.findByUid('Session', 'u1')).toBeUndefined()
        expect(await store.oidc.find('Session', 's2')).toEqual({ uid: 'u2' })
      })
    })

    describe('revokeByGrantId()', () => {
      it('removes every payload of the grant, in every model, and nothing else', async () => {
        await store.oidc.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60)
        await store.oidc.upsert('RefreshToken', 'r1', { grantId: 'g1' }, 60)
        await store.oidc.upsert('AccessToken', 'a1', { grantId: 'g1' })
        await store.oidc.upsert('RefreshToken', 'r2', { grantId: 'g2' }, 60)
        await store.oidc.upsert('Session', 's1', { uid: 'u1' })
        await store.oidc.revokeByGrantId('g1')
        expect(await store.oidc.find('AuthorizationCode', 'c1')).toBeUndefined()
        expect(await store.oidc.find('RefreshToken', 'r1')).toBeUndefined()
        expect(await store.oidc.find('AccessToken', 'a1')).toBeUndefined()
        expect(await store.oidc.find('RefreshToken', 'r2')).toEqual({ grantId: 'g2' })
        expect(await store.oidc.find('Session', 's1')).toEqual({ uid: 'u1' })
      })
    })
  })

  describe('purgeExpired()', () => {
      it('deletes oidc artifacts past their expiry and keeps the others', async () => {
        await store.oidc.upsert('Interaction', 'i1', { uid: 'u1' }, 60)
        await store.oidc.upsert('Interaction', 'i2', { uid: 'u2' }, 120)
        await store.oidc.upsert('Client', 'c1', { v: 1 })
        expect(await store.purgeExpired()).toBe(0)
        clock = T0 + 60_000
        expect(await store.purgeExpired()).toBe(1)
        clock = T0
        // Gone for good, not just hidden by the clock.
        expect(await store.oidc.find('Interaction', 'i1')).toBeUndefined()
        expect(await store.oidc.find('Interaction', 'i2')).toEqual({ uid: 'u2' })
        expect(await store.oidc.find('Client', 'c1')).toEqual({ v: 1 })
      })
  })

  it('keeps the key store under it: a key of an account, found by hash, deleted into the feed', async () => {
    await store.apiKeys.create(apiKey({ id: 'key_a' }))
    expect(await store.apiKeys.findByHash('hash-key_a')).toMatchObject({ id: 'key_a', accountId: ALICE })
    expect(await store.apiKeys.markDeleted('key_a', T0 + 1)).toBe(true)
    expect((await store.revocations.since(0)).revoked).toEqual([{ id: 'key_a', deletedAt: T0 + 1 }])
  })

  it('purges revoked tokens with the artifacts', async () => {
    await store.revocations.revokeToken('jti-1', T0 + 1_000, T0)
    await store.oidc.upsert('Interaction', 'i1', { uid: 'u1' }, 1)
    clock = T0 + 1_000
    expect(await store.purgeExpired()).toBe(2)
  })

  describe('close()', () => {
    it('can be called twice', async () => {
      await store.close()
      await store.close()
    })
  })
})

describe('createSqliteEmulatorStore() with two connections on one file (the CLI and the server)', () => {
  it('numbers audit events appended by either connection in one sequence, read by account from its index', async () => {
    const filename = join(dir, `shared-${++fileCount}.db`)
    const a = createSqliteEmulatorStore({ filename })
    const b = createSqliteEmulatorStore({ filename })
    try {
      await a.audit.append([{ accountId: ALICE, keyId: 'key_a', type: 'key.created', at: T0, detail: {} }])
      await b.audit.append([{ accountId: ALICE, keyId: 'key_a', type: 'key.deleted', at: T0, detail: {} }])
      expect((await a.audit.list(ALICE)).map((e) => [e.id, e.type])).toEqual([
        [2, 'key.deleted'],
        [1, 'key.created'],
      ])
      await a.accounts.create({ id: ALICE, email: 'alice@example.com', name: 'Alice', createdAt: T0, passwordHash: null })
      await expect(
        b.accounts.create({ id: BOB, email: 'ALICE@example.com', name: 'A', createdAt: T0, passwordHash: null }),
      ).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe('createPostgresEmulatorStore() with two instances on one database', () => {
  it('shares accounts, keys, artifacts and one audit sequence; refuses an email taken through the other', async () => {
    const { server, database } = await postgresDatabase()
    const schema = `shared_${++schemaCount}`
    await server.sql(database, `CREATE SCHEMA ${schema}`)
    const url = server.url(database, { schema })
    const [a, b] = await Promise.all([
      createPostgresEmulatorStore({ connectionString: url, now: () => T0 }),
      createPostgresEmulatorStore({ connectionString: url, now: () => T0 }),
    ])
    try {
      await a.accounts.create({ id: ALICE, email: 'alice@example.com', name: 'Alice', createdAt: T0, passwordHash: null })
      await expect(
        b.accounts.create({ id: BOB, email: 'ALICE@example.com', name: 'A', createdAt: T0, passwordHash: null }),
      ).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
      await b.apiKeys.create(apiKey({ id: 'key_a' }))
      expect(await a.apiKeys.findByHash('hash-key_a')).toMatchObject({ id: 'key_a', accountId: ALICE })
      await a.oidc.upsert('Session', 's1', { uid: 'u1' }, 60)
      expect(await b.oidc.findByUid('Session', 'u1')).toEqual({ uid: 'u1' })
      await a.audit.append([{ accountId: ALICE, keyId: 'key_a', type: 'key.created', at: T0, detail: {} }])
      await b.audit.append([{ accountId: ALICE, keyId: 'key_a', type: 'key.deleted', at: T0, detail: {} }])
      expect((await a.audit.list(ALICE)).map((e) => [e.id, e.type])).toEqual([
        [2, 'key.deleted'],
        [1, 'key.created'],
      ])
    } finally {
      await a.close()
      await b.close()
    }
  }, 60_000)

  it('holds the key limit across both: creations racing on the two leave exactly the limit', async () => {
    const { server, database } = await postgresDatabase()
    const schema = `shared_${++schemaCount}`
    await server.sql(database, `CREATE SCHEMA ${schema}`)
    const url = server.url(database, { schema })
    const [a, b] = await Promise.all([
      createPostgresEmulatorStore({ connectionString: url, now: () => T0, maxConnections: 4 }),
      createPostgresEmulatorStore({ connectionString: url, now: () => T0, maxConnections: 4 }),
    ])
    try {
      await a.accounts.create({ id: ALICE, email: 'alice@example.com', name: 'Alice', createdAt: T0, passwordHash: null })
      // More creations in flight than either pool has connections.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).apiKeys.createWithinLimit(apiKey({ id: `key_${i}` }), 10)),
      )
      expect(results.filter(Boolean)).toHaveLength(10)
      expect(await b.apiKeys.countLive(ALICE)).toBe(10)
    } finally {
      await a.close()
      await b.close()
    }
  }, 60_000)

  it('describes the database without the password', async () => {
    const { server, database } = await postgresDatabase()
    const store = await createPostgresEmulatorStore({ connectionString: server.url(database) })
    try {
      expect(store.description).toBe(`postgres://postgres@127.0.0.1:${server.port}/${database}`)
      expect(store.description).not.toContain(server.password)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('refuses a database the emulator\'s newer software migrated with ERR_STORE', async () => {
    const { server, database } = await postgresDatabase()
    const schema = `newer_${++schemaCount}`
    await server.sql(database, `CREATE SCHEMA ${schema}`)
    const url = server.url(database, { schema, socket: true })
    await (await createPostgresEmulatorStore({ connectionString: url })).close()
    await server.sql(database, `UPDATE ${schema}.schema_migrations SET version = 99 WHERE component = 'emulator'`)
    await expect(createPostgresEmulatorStore({ connectionString: url })).rejects.toMatchObject({
      code: 'ERR_STORE',
      message: 'database schema of emulator is at version 99, newer than this software supports (1)',
    })
  }, 60_000)
})
