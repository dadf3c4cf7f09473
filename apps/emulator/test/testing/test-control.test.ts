/**
 * `eyepop-emulator start --test-control`: the harness over HTTP (for tests in other languages),
 * off by default and refused beyond loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/schema.js'
import type { RunningServer } from '../../src/main.js'
import { runCli } from '../e2e/process.js'
import { startTestServer } from '../helpers.js'

let server: RunningServer

beforeAll(async () => {
  server = await startTestServer({ testControl: true })
})
afterAll(() => server?.close())

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

describe('the test control API', () => {
  it('seeds a key and a Pop, moves time past a token, and fails a route', async () => {
    const state = await call('GET', '/_test/')
    expect(state).toMatchObject({ status: 200, body: { account: { id: expect.any(String) }, clock: { virtual: true }, faults: [] } })

    const key = await call('POST', '/_test/api-keys', { name: 'py' })
    expect(key).toMatchObject({ status: 201, body: { id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^eyp_/) } })
    const pop = await call('POST', '/_test/pops', { name: 'shelf' })
    expect(pop.status).toBe(201)

    const auth = await fetch(`${server.url}/v1/auth/authenticate`, { method: 'POST', headers: { authorization: `Bearer ${key.body.key}` } })
    const { access_token: token } = (await auth.json()) as { access_token: string }
    const config = () => fetch(`${server.url}/pops/${pop.body.id}/config`, { headers: { authorization: `Bearer ${token}` } })
    expect((await config()).status).toBe(200)
    const advanced = await call('POST', '/_test/clock/advance', { seconds: 3601 })
    expect(advanced.body.now).toBeGreaterThanOrEqual(state.body.clock.now + 3_601_000)
    expect((await config()).status).toBe(401)

    expect((await call('POST', '/_test/faults', { route: 'POST /v1/auth/authenticate', status: 503, count: 1 })).status).toBe(201)
    const failed = await fetch(`${server.url}/v1/auth/authenticate`, { method: 'POST', headers: { authorization: `Bearer ${key.body.key}` } })
    expect(failed.status).toBe(503)

    const session = await call('POST', '/_test/temporary-keys', { apiKey: key.body.key, popId: pop.body.id, ttlSeconds: 60 })
    expect(session).toMatchObject({ status: 201, body: { eyepopUrl: server.url, popId: pop.body.id } })

    expect((await call('DELETE', `/_test/api-keys/${key.body.id}`)).status).toBe(204)
    const events = await call('GET', `/_test/audit-events?keyId=${key.body.id}`)
    expect(events.body.events.map((e: { type: string }) => e.type)).toContain('key.deleted')

    const account = await call('POST', '/_test/accounts', { email: 'py@example.test', password: 'py-password' })
    expect(account).toMatchObject({ status: 201, body: { email: 'py@example.test' } })
  })

  it('resets to an empty account with curl -X POST (no body)', async () => {
    const before = (await call('GET', '/_test/')).body.account.id
    const reset = await call('POST', '/_test/reset')
    expect(reset.status).toBe(200)
    expect(reset.body.account.id).not.toBe(before)
  })

  it('answers bad input with 400 and a JSON error, an unknown route with 404', async () => {
    expect(await call('POST', '/_test/faults', { route: 'nonsense', status: 503 })).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
    expect(await call('POST', '/_test/clock/advance', { seconds: -5 })).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
    expect(await call('POST', '/_test/api-keys', { expires: 'soon' })).toMatchObject({ status: 400 })
    expect(await call('GET', '/_test/nothing')).toMatchObject({ status: 404, body: { error: 'not_found' } })
  })
})

describe('without --test-control', () => {
  it('does not serve it', async () => {
    const plain = await startTestServer()
    try {
      const res = await fetch(`${plain.url}/_test/`)
      expect(res.status).toBe(404)
      expect(plain.faults).toBeUndefined()
    } finally {
      await plain.close()
    }
  })
})

describe('beyond loopback', () => {
  it('is refused, by the config and by the command', async () => {
    expect(() => resolveConfig({ host: '0.0.0.0', testControl: true })).toThrow(/testControl.*non-loopback/)
    const started = await runCli(['start', '--test-control', '--host', '0.0.0.0', '--port', '0', '--memory'])
    expect(started.code).toBe(1)
    expect(started.stderr).toMatch(/non-loopback/)
  })
})
