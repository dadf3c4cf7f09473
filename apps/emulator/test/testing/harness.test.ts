/**
 * `@eyepop/emulator/testing`: the harness an app's tests drive, with the real EyePop Node SDK
 * 3.17.2 as the client: virtual time, faults, reset, seeding.
 */
import { loadNodeSdkV3, type NodeSdkV3 } from '@eyepop/real-sdks'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startEmulator, type TestEmulator } from '../../src/testing/index.js'

clearEyePopEnv()

const logger = pino({ level: 'silent' })
let sdk: NodeSdkV3
let emu: TestEmulator

beforeAll(async () => {
  sdk = loadNodeSdkV3()
  emu = await startEmulator({ clock: 'virtual' })
})
afterAll(() => emu?.close())
afterEach(() => emu.reset())

const authenticate = (key: string) =>
  fetch(`${emu.url}/v1/auth/authenticate`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
const popConfig = (popId: string, token: string) =>
  fetch(`${emu.url}/pops/${popId}/config`, { headers: { authorization: `Bearer ${token}` } })

describe('startEmulator()', () => {
  it('serves in memory on 127.0.0.1 and a free port, the url being the issuer', async () => {
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const discovery = await (await fetch(`${emu.url}/.well-known/openid-configuration`)).json()
    expect(discovery).toMatchObject({ issuer: emu.url })
  })

  it('refuses an unknown clock and an option out of range, naming it', async () => {
    await expect(startEmulator({ clock: 'fast' as 'virtual' })).rejects.toThrow(/clock/)
    await expect(startEmulator({ tokenTtlSeconds: -1 })).rejects.toThrow(/tokenTtlSeconds/)
  })
})

describe('seeding', () => {
  it('creates a key and a Pop that the real SDK connects with', async () => {
    const { key } = await emu.createApiKey({ name: 'ci' })
    const { id: popId } = await emu.createPop({ name: 'shelf' })
    const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emu.url, apiKey: key, pop: { components: [] }, logger })
    await endpoint.connect()
    await endpoint.disconnect()
    const token = ((await (await authenticate(key)).json()) as { access_token: string }).access_token
    expect((await popConfig(popId, token)).status).toBe(200)
  })

  it('deletes a key: refused at once', async () => {
    const { id, key } = await emu.createApiKey()
    expect((await authenticate(key)).status).toBe(200)
    await emu.deleteApiKey(id)
    expect((await authenticate(key)).status).toBe(401)
  })

  it('creates an account with its own keys, and mints a temporary key bound to a Pop', async () => {
    const other = await emu.createAccount({ email: 'qa@example.test' })
    expect(other).toMatchObject({ email: 'qa@example.test' })
    const { key } = await emu.createApiKey({ accountId: other.id })
    const pop = await emu.createPop({ accountId: other.id })
    const session = await emu.createTemporaryKey({ apiKey: key, popId: pop.id, ttlSeconds: 60 })
    expect(session).toMatchObject({ eyepopUrl: emu.url, popId: pop.id })
    expect(session.validUntil).toBeGreaterThan(emu.server.emulator.services.now())
    expect((await popConfig(pop.id, session.accessToken)).status).toBe(200)
    // Not the default account's Pop.
    const mine = await emu.createPop()
    expect((await popConfig(mine.id, session.accessToken)).status).toBe(403)
  })

  it('reads the audit log, the token route\'s events included', async () => {
    const { id, key } = await emu.createApiKey({ name: 'audited' })
    await authenticate(key)
    await emu.deleteApiKey(id)
    const events = await emu.auditEvents({ keyId: id })
    // The token route's events are written in batches, so the first use may come after the deletion.
    expect(events.map((e) => e.type).sort()).toEqual(['key.created', 'key.deleted', 'key.first_used'])
  })
})

describe('virtual time', () => {
  it('expires access tokens: refused after advance(3601)', async () => {
    const { key } = await emu.createApiKey()
    const pop = await emu.createPop()
    const token = ((await (await authenticate(key)).json()) as { access_token: string }).access_token
    expect((await popConfig(pop.id, token)).status).toBe(200)
    emu.clock.advance(3601)
    const refused = await popConfig(pop.id, token)
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ error: 'invalid_token' })
    // The key itself still works: a new token is good.
    const fresh = ((await (await authenticate(key)).json()) as { access_token: string }).access_token
    expect((await popConfig(pop.id, fresh)).status).toBe(200)
  })

  it('expires temporary keys at validUntil and API keys at their expiry', async () => {
    const { key } = await emu.createApiKey({ expires: '7d' })
    const pop = await emu.createPop()
    const session = await emu.createTemporaryKey({ apiKey: key, popId: pop.id, ttlSeconds: 120 })
    emu.clock.advance(121)
    expect((await popConfig(pop.id, session.accessToken)).status).toBe(401)
    expect((await authenticate(key)).status).toBe(200)
    emu.clock.advance(7 * 86_400)
    const expired = await authenticate(key)
    expect(expired.status).toBe(401)
    expect(await expired.json()).toMatchObject({ error: 'invalid_client' })
  })

  it('ends a compute session left idle past its timeout', async () => {
    const { key } = await emu.createApiKey()
    const auth = { authorization: `Bearer ${key}` }
    const opened = await fetch(`${emu.url}/v1/sessions?wait=true`, { method: 'POST', headers: auth })
    const [{ session_uuid: uuid }] = (await opened.json()) as Array<{ session_uuid: string }>
    const status = async () => (await fetch(`${emu.url}/v1/sessions/${uuid}`, { headers: auth })).status
    expect(await status()).toBe(200)
    emu.clock.advance(emu.server.emulator.config.sessionIdleTimeoutSeconds + 1)
    expect(await status()).toBe(404)
  })

  it('refuses to go back or to move a real clock', async () => {
    expect(() => emu.clock.advance(-1)).toThrow(TypeError)
    const real = await startEmulator()
    try {
      expect(() => real.clock.advance(1)).toThrow(/virtual/)
    } finally {
      await real.close()
    }
  })
})

describe('faults', () => {
  it('answers the next request to a route with the status and body the emulator sends for it, then serves again', async () => {
    const { key } = await emu.createApiKey()
    emu.faults.next('POST /v1/auth/authenticate', { status: 503 })
    const failed = await authenticate(key)
    expect(failed.status).toBe(503)
    expect(failed.headers.get('retry-after')).toBe('1')
    expect(await failed.json()).toMatchObject({ error: 'temporarily_unavailable' })
    expect((await authenticate(key)).status).toBe(200)
  })

  it('counts, matches path parameters, delays and drops', async () => {
    const { key } = await emu.createApiKey()
    const pop = await emu.createPop()
    const token = ((await (await authenticate(key)).json()) as { access_token: string }).access_token
    emu.faults.next('GET /pops/{popId}/config', { status: 401 }, 2)
    for (let i = 0; i < 2; i++) {
      const refused = await popConfig(pop.id, token)
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
    }
    expect((await popConfig(pop.id, token)).status).toBe(200)

    emu.faults.next('GET /pops/{popId}/config', { delayMs: 300 })
    const started = performance.now()
    expect((await popConfig(pop.id, token)).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)

    emu.faults.next('POST /v1/auth/authenticate', { drop: true })
    await expect(authenticate(key)).rejects.toThrow(/fetch failed/)
    expect(emu.faults.pending()).toEqual([])
  })

  it('fails the JWKS and the session routes too', async () => {
    emu.faults.next('GET /.well-known/jwks.json', { status: 500 })
    const jwks = await fetch(`${emu.url}/.well-known/jwks.json`)
    expect(jwks.status).toBe(500)
    expect(await jwks.json()).toMatchObject({ error: 'server_error' })
    emu.faults.next('POST /v1/sessions', { status: 429 })
    const session = await fetch(`${emu.url}/v1/sessions`, { method: 'POST' })
    expect(session.status).toBe(429)
    expect(session.headers.get('retry-after')).toBe('1')
  })

  it("makes the real SDK's connect fail with the service's error, and the next connect succeed", async () => {
    const { key } = await emu.createApiKey()
    // The SDK 3.x opens a compute session with its API key: the session route is its first call.
    emu.faults.next('POST /v1/sessions', { status: 503 })
    const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emu.url, apiKey: key, pop: { components: [] }, logger })
    await expect(endpoint.connect()).rejects.toThrow(/503 creating a compute session: temporarily_unavailable/)
    const again = sdk.EyePop.workerEndpoint({ eyepopUrl: emu.url, apiKey: key, pop: { components: [] }, logger })
    await again.connect()
    await again.disconnect()
  })

  it('refuses a malformed fault', () => {
    expect(() => emu.faults.next('/v1/auth/authenticate', { status: 503 })).toThrow(/method and a path/)
    expect(() => emu.faults.next('POST /token', { status: 200 })).toThrow(/400 to 599/)
    expect(() => emu.faults.next('POST /token', {})).toThrow(/status, a delayMs or drop/)
  })
})

describe('reset()', () => {
  it('starts over at the same url: keys, Pops and tokens of before are gone, pending faults dropped', async () => {
    const before = emu.account().id
    const { key } = await emu.createApiKey()
    const token = ((await (await authenticate(key)).json()) as { access_token: string }).access_token
    const pop = await emu.createPop()
    emu.faults.next('POST /v1/auth/authenticate', { status: 503 })
    const now = emu.server.emulator.services.now()
    await emu.reset()
    expect(emu.account().id).not.toBe(before)
    expect(emu.faults.pending()).toEqual([])
    expect((await authenticate(key)).status).toBe(401)
    expect((await popConfig(pop.id, token)).status).toBe(401)
    expect(await emu.server.emulator.services.keys.list(emu.account().id)).toEqual([])
    // The clock keeps its time.
    expect(emu.server.emulator.services.now()).toBeGreaterThanOrEqual(now)
  })
})
