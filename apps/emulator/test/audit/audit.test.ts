import { createAccessTokenVerifier, generateApiKey, hashApiKey, loadKeyring } from '@eyepop/auth-core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AUDIT_MAX_PENDING, createAuditRecorder, type AuditRecorder } from '../../src/services/audit.js'
import { openServices, type Services } from '../../src/services/services.js'
import { AUTH_FAILED_AUDIT_INTERVAL_MS, createTokenService, type TokenService } from '../../src/services/tokens.js'
import { createUsageRecorder, LAST_USED_RESOLUTION_MS, type UsageRecorder } from '../../src/services/usage-recorder.js'
import type { AuditEvent, AuditEventInput, EmulatorStore } from '../../src/store/types.js'
import { createMemoryEmulatorStore } from '../../src/store/memory-store.js'

/**
 * The audit log of key events, through the services the HTTP routes and the CLI share: created,
 * first used, deleted, and failed authentication of a known key. The token route only notes
 * events in memory; they reach the store in batches.
 */

const T0 = Date.UTC(2025, 0, 15, 12)
const ISSUER = 'http://127.0.0.1:8700'
const AUDIENCE = 'https://api.eyepop.ai'
const DAY = 86_400_000

interface World {
  store: EmulatorStore
  services: Services
  tokens: TokenService
  usage: UsageRecorder
  audit: AuditRecorder
  accountId: string
  /** Every batch the store was asked to append. */
  appended: AuditEventInput[][]
  setClock(ms: number): void
  advance(ms: number): void
  /** A token service as a restarted process would build it (fresh in-memory state). */
  restart(): TokenService
  /** Writes pending events and last-use times, then the account's events, oldest first. */
  events(accountId?: string): Promise<AuditEvent[]>
}

let world: World

async function createWorld(): Promise<World> {
  let clock = T0
  const now = () => clock
  const store = createMemoryEmulatorStore({ now })
  const appended: AuditEventInput[][] = []
  const append = store.audit.append.bind(store.audit)
  vi.spyOn(store.audit, 'append').mockImplementation(async (events) => {
    appended.push([...events])
    await append(events)
  })
  const services = await openServices(store, now)
  const keyring = await loadKeyring({ store, now })
  const verify = createAccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: keyring, now })
  const fail = (err: unknown) => {
    throw err
  }
  // Long intervals: the tests flush by hand.
  const usage = createUsageRecorder(store, 60_000, fail)
  const audit = createAuditRecorder(store, 60_000, fail)
  const build = () =>
    createTokenService({
      store,
      pepper: services.pepper,
      keyring,
      verify,
      issuer: ISSUER,
      audience: AUDIENCE,
      ttlSeconds: 3600,
      temporaryKeyTtlSeconds: 900,
      temporaryKeyMaxTtlSeconds: 3600,
      usage,
      audit,
      now,
    })
  const accountId = services.defaultAccount.id
  return {
    store,
    services,
    tokens: build(),
    usage,
    audit,
    accountId,
    appended,
    setClock: (ms) => void (clock = ms),
    advance: (ms) => void (clock += ms),
    restart: build,
    async events(account = accountId) {
      await audit.flush()
      await usage.flush()
      return (await services.audit.list(account, { limit: 1000 })).reverse()
    },
  }
}

beforeEach(async () => {
  world = await createWorld()
})

afterEach(async () => {
  await world.audit.close()
  await world.usage.close()
})

describe('key.created', () => {
  it('is written when a key is created, with its name and expiry, at once (not batched)', async () => {
    const created = await world.services.keys.create(world.accountId, { name: 'CI', expires: '30d' })
    const forever = await world.services.keys.create(world.accountId, { name: 'Forever', expires: 'never' })
    // Read straight from the store: nothing was left pending.
    const events = (await world.store.audit.list(world.accountId)).reverse()
    expect(events).toEqual([
      {
        id: expect.any(Number),
        accountId: world.accountId,
        keyId: created.id,
        type: 'key.created',
        at: T0,
        detail: { name: 'CI', expires: new Date(T0 + 30 * DAY).toISOString() },
      },
      expect.objectContaining({ keyId: forever.id, type: 'key.created', detail: { name: 'Forever', expires: 'never' } }),
    ])
  })

  it('is not written when the key is refused', async () => {
    await expect(world.services.keys.create(world.accountId, { name: '' })).rejects.toMatchObject({
      kind: 'invalid_input',
    })
    expect(await world.events()).toEqual([])
  })
})

describe('key.deleted', () => {
  it('is written when a key is deleted, with its name, and only once', async () => {
    const created = await world.services.keys.create(world.accountId, { name: 'old server' })
    world.advance(5000)
    await world.services.keys.delete(world.accountId, created.id)
    await expect(world.services.keys.delete(world.accountId, created.id)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    })
    const events = await world.events()
    expect(events.map((e) => [e.type, e.keyId, e.at, e.detail])).toEqual([
      ['key.created', created.id, T0, expect.any(Object)],
      ['key.deleted', created.id, T0 + 5000, { name: 'old server' }],
    ])
  })
})

describe('key.first_used', () => {
  it('is noted on the first exchange of a key only, and reaches the store in the next batch', async () => {
    const { key, id } = await world.services.keys.create(world.accountId, { name: 'server' })
    const writesBefore = world.appended.length
    world.advance(1000)
    await world.tokens.exchangeApiKey(key)
    world.advance(1000)
    await world.tokens.exchangeApiKey(key)
    await world.tokens.exchangeApiKey(key)
    // The token route wrote nothing itself.
    expect(world.appended).toHaveLength(writesBefore)
    await world.audit.flush()
    expect(world.appended).toHaveLength(writesBefore + 1)
    const events = await world.events()
    expect(events.filter((e) => e.type === 'key.first_used')).toEqual([
      { id: expect.any(Number), accountId: world.accountId, keyId: id, type: 'key.first_used', at: T0 + 1000, detail: {} },
    ])
  })

  it('is not noted again once the key has a last use, even by a restarted process', async () => {
    const { key } = await world.services.keys.create(world.accountId, { name: 'server' })
    await world.tokens.exchangeApiKey(key)
    await world.events()
    const restarted = world.restart()
    await restarted.exchangeApiKey(key)
    await world.tokens.exchangeApiKey(key)
    expect((await world.events()).filter((e) => e.type === 'key.first_used')).toHaveLength(1)
  })

  it('is noted when a key first mints a temporary key or authenticates a route', async () => {
    const minting = await world.services.keys.create(world.accountId, { name: 'minting' })
    const checking = await world.services.keys.create(world.accountId, { name: 'checking' })
    const pop = await world.services.pops.create(world.accountId, { name: 'pop' })
    await world.tokens.mintTemporaryKey({ apiKey: minting.key }, { popId: pop.id })
    await world.tokens.authenticateApiKey(checking.key)
    await world.tokens.authenticateApiKey(checking.key)
    const firstUses = (await world.events()).filter((e) => e.type === 'key.first_used')
    expect(firstUses.map((e) => e.keyId)).toEqual([minting.id, checking.id])
  })
})

describe('key.first_used while the first use is being written', () => {
  it('is noted once, whether the next use comes before, during or after the flush that writes the first', async () => {
    const { key } = await world.services.keys.create(world.accountId, { name: 'server' })
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const recordUse = world.store.apiKeys.recordUse.bind(world.store.apiKeys)
    vi.spyOn(world.store.apiKeys, 'recordUse').mockImplementationOnce(async (uses) => {
      await held
      await recordUse(uses)
    })
    await Promise.all([world.tokens.exchangeApiKey(key), world.tokens.authenticateApiKey(key)])
    const flushing = world.usage.flush()
    await world.tokens.exchangeApiKey(key)
    release()
    await flushing
    await world.tokens.authenticateApiKey(key)
    expect((await world.events()).filter((e) => e.type === 'key.first_used')).toHaveLength(1)
  })

  it('is noted again by the next use when the flush failed: the store still has no use of the key', async () => {
    const { key } = await world.services.keys.create(world.accountId, { name: 'server' })
    await world.tokens.exchangeApiKey(key)
    vi.spyOn(world.store.apiKeys, 'recordUse').mockRejectedValueOnce(new Error('disk full'))
    await expect(world.usage.flush()).rejects.toThrow('disk full')
    world.advance(1000)
    await world.tokens.exchangeApiKey(key)
    expect((await world.events()).filter((e) => e.type === 'key.first_used').map((e) => e.at)).toEqual([T0, T0 + 1000])
  })

  it('gives a key that authenticates a route a last use, as an exchange does', async () => {
    const created = await world.services.keys.create(world.accountId, { name: 'route' })
    world.advance(1000)
    await world.tokens.authenticateApiKey(created.key)
    await world.usage.flush()
    expect((await world.services.keys.get(world.accountId, created.id)).lastUsedAt).toBe(new Date(T0 + 1000).toISOString())
  })
})

describe('auth.failed', () => {
  describe('with a deleted key', () => {
    it("records reason 'deleted' on the key's account and still refuses with ERR_API_KEY_REVOKED", async () => {
      const { key, id } = await world.services.keys.create(world.accountId, { name: 'gone' })
      await world.services.keys.delete(world.accountId, id)
      world.advance(1)
      await expect(world.tokens.exchangeApiKey(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_REVOKED' })
      const failed = (await world.events()).filter((e) => e.type === 'auth.failed')
      expect(failed).toEqual([
        { id: expect.any(Number), accountId: world.accountId, keyId: id, type: 'auth.failed', at: T0 + 1, detail: { reason: 'deleted' } },
      ])
    })
  })

  describe('with an expired key', () => {
    it("records reason 'expired' and still refuses with ERR_API_KEY_EXPIRED", async () => {
      const { key, id } = await world.services.keys.create(world.accountId, { name: 'short', expires: '7d' })
      world.advance(8 * DAY)
      await expect(world.tokens.exchangeApiKey(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_EXPIRED' })
      await expect(world.tokens.authenticateApiKey(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_EXPIRED' })
      const failed = (await world.events()).filter((e) => e.type === 'auth.failed')
      expect(failed.map((e) => [e.keyId, e.detail])).toEqual([[id, { reason: 'expired' }]])
    })
  })

  it('records at most one event per key per 10 seconds', async () => {
    const a = await world.services.keys.create(world.accountId, { name: 'a' })
    const b = await world.services.keys.create(world.accountId, { name: 'b' })
    await world.services.keys.delete(world.accountId, a.id)
    await world.services.keys.delete(world.accountId, b.id)
    const attempt = async (key: string) => {
      await expect(world.tokens.exchangeApiKey(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_REVOKED' })
    }
    for (let i = 0; i < 5; i++) await attempt(a.key)
    await attempt(b.key)
    world.advance(AUTH_FAILED_AUDIT_INTERVAL_MS - 1)
    await attempt(a.key)
    world.advance(1)
    await attempt(a.key)
    await attempt(a.key)
    const failed = (await world.events()).filter((e) => e.type === 'auth.failed')
    expect(failed.map((e) => [e.keyId, e.at - T0])).toEqual([
      [a.id, 0],
      [b.id, 0],
      [a.id, AUTH_FAILED_AUDIT_INTERVAL_MS],
    ])
  })

  it('is not recorded for a malformed key or a well-formed key nobody owns', async () => {
    const { key } = await world.services.keys.create(world.accountId, { name: 'real' })
    const writes = world.appended.length
    const mistyped = `${key.slice(0, 10)}${key[10] === 'x' ? 'y' : 'x'}${key.slice(11)}`
    for (const bad of ['not-a-key', 'eyp_short', mistyped, generateApiKey(), undefined]) {
      await expect(world.tokens.exchangeApiKey(bad)).rejects.toMatchObject({
        code: expect.stringMatching(/^ERR_API_KEY_(MALFORMED|INVALID)$/),
      })
    }
    await world.audit.flush()
    const batches = world.appended.slice(writes).flat()
    expect(batches.filter((e) => e.type === 'auth.failed')).toEqual([])
  })

  it('does not change the answer when the audit lookup fails', async () => {
    const { key, id } = await world.services.keys.create(world.accountId, { name: 'gone' })
    await world.services.keys.delete(world.accountId, id)
    const findByHash = world.store.apiKeys.findByHash.bind(world.store.apiKeys)
    let calls = 0
    vi.spyOn(world.store.apiKeys, 'findByHash').mockImplementation(async (hash) => {
      if (++calls === 2) throw new Error('database is locked')
      return findByHash(hash)
    })
    await expect(world.tokens.exchangeApiKey(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_REVOKED' })
  })
})

describe('the events', () => {
  it('never hold a key, a token or a hash', async () => {
    const created = await world.services.keys.create(world.accountId, { name: 'secretive', expires: '7d' })
    const { access_token } = await world.tokens.exchangeApiKey(created.key)
    await world.services.keys.delete(world.accountId, created.id)
    await expect(world.tokens.exchangeApiKey(created.key)).rejects.toMatchObject({ code: 'ERR_API_KEY_REVOKED' })
    const text = JSON.stringify(await world.events())
    expect(text).toContain('key.first_used')
    expect(text).toContain('auth.failed')
    for (const secret of [created.key, access_token, hashApiKey(created.key, world.services.pepper), created.key.slice(4, 20)]) {
      expect(text).not.toContain(secret)
    }
  })

  it('are listed per account through services.audit, newest first, filtered by key', async () => {
    const mine = await world.services.keys.create(world.accountId, { name: 'mine' })
    const other = await world.services.accounts.create({ email: 'other@example.com', password: 'password1', name: 'O' })
    const theirs = await world.services.keys.create(other.id, { name: 'theirs' })
    await world.services.keys.delete(world.accountId, mine.id)
    const second = await world.services.keys.create(world.accountId, { name: 'second' })

    const list = await world.services.audit.list(world.accountId)
    expect(list.map((e) => [e.type, e.keyId])).toEqual([
      ['key.created', second.id],
      ['key.deleted', mine.id],
      ['key.created', mine.id],
    ])
    expect(list.some((e) => e.keyId === theirs.id)).toBe(false)
    expect((await world.services.audit.list(world.accountId, { keyId: theirs.id }))).toEqual([])
    expect((await world.services.audit.list(world.accountId, { keyId: mine.id })).map((e) => e.type)).toEqual([
      'key.deleted',
      'key.created',
    ])
    const page = await world.services.audit.list(world.accountId, { limit: 1, before: list[0]!.id })
    expect(page.map((e) => e.type)).toEqual(['key.deleted'])
    expect((await world.services.audit.list(other.id)).map((e) => e.keyId)).toEqual([theirs.id])
  })

  it('do not stop a key from being created or deleted when they cannot be written', async () => {
    const errors: unknown[] = []
    const store = createMemoryEmulatorStore()
    const services = await openServices(store, Date.now, { onAuditError: (err) => errors.push(err) })
    vi.spyOn(store.audit, 'append').mockRejectedValue(new Error('disk full'))
    const created = await services.keys.create(services.defaultAccount.id, { name: 'still shown once' })
    expect(created.key).toMatch(/^eyp_/)
    await services.keys.delete(services.defaultAccount.id, created.id)
    expect(errors.map((e) => (e as Error).message)).toEqual(['disk full', 'disk full'])
  })
})

describe('createAuditRecorder()', () => {
  const event = (at: number): AuditEventInput => ({ accountId: 'a', keyId: 'k', type: 'key.first_used', at, detail: {} })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('writes what was noted in one batch per interval, and nothing when nothing was noted', async () => {
    vi.useFakeTimers()
    const store = createMemoryEmulatorStore()
    const append = vi.spyOn(store.audit, 'append')
    const recorder = createAuditRecorder(store, 1000, (err) => {
      throw err
    })
    await vi.advanceTimersByTimeAsync(5000)
    expect(append).not.toHaveBeenCalled()
    recorder.record(event(1))
    recorder.record(event(2))
    expect(append).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1000)
    expect(append).toHaveBeenCalledTimes(1)
    expect(append.mock.calls[0]![0]).toEqual([event(1), event(2)])
    await vi.advanceTimersByTimeAsync(3000)
    expect(append).toHaveBeenCalledTimes(1)
    await recorder.close()
  })

  it('writes what is pending when closed', async () => {
    const store = createMemoryEmulatorStore()
    const recorder = createAuditRecorder(store, 60_000, () => undefined)
    recorder.record(event(1))
    await recorder.close()
    expect(await store.audit.list('a')).toEqual([{ id: 1, ...event(1) }])
  })

  it('reports a batch that cannot be written to onError', async () => {
    vi.useFakeTimers()
    const store = createMemoryEmulatorStore()
    vi.spyOn(store.audit, 'append').mockRejectedValue(new Error('database is locked'))
    const errors: unknown[] = []
    const recorder = createAuditRecorder(store, 100, (err) => errors.push(err))
    recorder.record(event(1))
    await vi.advanceTimersByTimeAsync(100)
    expect(errors).toEqual([new Error('database is locked')])
    vi.mocked(store.audit.append).mockRestore()
    await recorder.close()
  })

  it('keeps at most AUDIT_MAX_PENDING events between flushes and reports the ones it dropped', async () => {
    const store = createMemoryEmulatorStore()
    const errors: unknown[] = []
    const recorder = createAuditRecorder(store, 60_000, (err) => errors.push(err))
    for (let i = 0; i < AUDIT_MAX_PENDING + 5; i++) recorder.record(event(i))
    await recorder.close()
    expect(errors.map((e) => (e as Error).message)).toEqual([
      `audit log: 5 events were dropped (more than ${AUDIT_MAX_PENDING} pending)`,
    ])
    expect(await store.audit.list('a', { limit: 1 })).toEqual([expect.objectContaining({ at: AUDIT_MAX_PENDING - 1 })])
  })
})

describe('createUsageRecorder()', () => {
  it('writes a first use, skips uses within a minute of the stored one, then writes again', async () => {
    const { usage, services, tokens, accountId } = world
    const created = await services.keys.create(accountId, { name: 'used', expires: 'never' })
    const lastUsed = async () => (await services.keys.get(accountId, created.id)).lastUsedAt
    const recordUse = vi.spyOn(world.store.apiKeys, 'recordUse')

    await tokens.exchangeApiKey(created.key)
    await usage.flush()
    expect(await lastUsed()).toBe(new Date(T0).toISOString())
    expect(recordUse).toHaveBeenCalledTimes(1)

    world.advance(LAST_USED_RESOLUTION_MS - 1000)
    await tokens.exchangeApiKey(created.key)
    await usage.flush()
    expect(await lastUsed()).toBe(new Date(T0).toISOString())
    expect(recordUse).toHaveBeenCalledTimes(1)

    world.advance(1000)
    await tokens.exchangeApiKey(created.key)
    await usage.flush()
    expect(await lastUsed()).toBe(new Date(T0 + LAST_USED_RESOLUTION_MS).toISOString())
    expect(recordUse).toHaveBeenCalledTimes(2)
  })

  it('writes a large batch in chunks, every use included', async () => {
    const recordUse = vi.spyOn(world.store.apiKeys, 'recordUse').mockResolvedValue(undefined)
    for (let i = 0; i < 600; i++) world.usage.record(`key_${i}`, T0, null)
    await world.usage.flush()
    expect(recordUse.mock.calls.map(([batch]) => batch.length)).toEqual([256, 256, 88])
    expect(new Set(recordUse.mock.calls.flatMap(([batch]) => batch.map((u) => u.id))).size).toBe(600)
  })
})

describe('a flush in progress', () => {
  it('is finished by close(), every chunk written before the store may close', async () => {
    const written: string[] = []
    vi.spyOn(world.store.apiKeys, 'recordUse').mockImplementation(async (uses) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      written.push(...uses.map((u) => u.id))
    })
    for (let i = 0; i < 600; i++) world.usage.record(`key_${i}`, T0, null)
    const timed = world.usage.flush()
    await world.usage.close()
    expect(written).toHaveLength(600)
    await timed
  })
})
