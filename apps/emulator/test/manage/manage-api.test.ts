import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/main.js'
import { browser, follow, signIn, type BrowserSession } from './browser-session.js'
import { startTestServer } from '../helpers.js'

let running: RunningServer
let dev: BrowserSession
let csrf: string
let other: { id: string; keyId: string; popId: string }

const DEV_EMAIL = 'dev@eyepop.local'
const DEV_PASSWORD = 'eyepop-dev'

function api(session: BrowserSession, path: string, init: RequestInit & { json?: unknown } = {}) {
  const { json, ...rest } = init
  const headers = new Headers(rest.headers)
  if (json !== undefined) headers.set('Content-Type', 'application/json')
  return session.request(`/api/v1${path}`, { ...rest, headers, ...(json !== undefined && { body: JSON.stringify(json) }) })
}

beforeAll(async () => {
  running = await startTestServer()
  dev = browser(running.url)
  const result = await signIn(dev, DEV_EMAIL, DEV_PASSWORD)
  expect(result.ok).toBe(true)
  const session = (await (await api(dev, '/session')).json()) as { csrfToken: string }
  csrf = session.csrfToken
  const { services } = running.emulator
  const account = await services.accounts.create({ email: 'other@example.test', password: 'other-password', name: 'Other' })
  const key = await services.keys.create(account.id, { name: 'theirs', expires: 'never' })
  const pop = await services.pops.create(account.id, { name: 'their pop' })
  other = { id: account.id, keyId: key.id, popId: pop.id }
})
afterAll(() => running.close())

describe('sign-in', () => {
  it('sends an anonymous visitor of /dashboard to the login page through the code flow with PKCE', async () => {
    const visitor = browser(running.url)
    const first = await visitor.request('/dashboard')
    expect(first.status).toBe(303)
    expect(first.headers.get('location')).toBe('/dashboard/login')
    const login = await visitor.request('/dashboard/login')
    const authorize = new URL(login.headers.get('location')!, running.url)
    expect(authorize.pathname).toBe('/auth')
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorize.searchParams.get('client_id')).toBe('eyepop-dashboard')
    const page = await follow(visitor, authorize.pathname + authorize.search)
    expect(page.path).toMatch(/^\/interaction\//)
    expect(await page.res.text()).toContain('<label for="password">Password</label>')
  })

  it('answers a wrong password with 401 and a clear message, whether or not the email exists', async () => {
    for (const [email, password] of [[DEV_EMAIL, 'wrong-password'], ['nobody@example.test', 'whatever-password']] as const) {
      const result = await signIn(browser(running.url), email, password)
      expect(result.ok).toBe(false)
      expect(result.res.status).toBe(401)
      expect(await result.res.text()).toContain('Wrong email or password.')
    }
  })

  it('slows down repeated failures from one address', async () => {
    const visitor = browser(running.url)
    const target = 'slow@example.test'
    const failed = await signIn(visitor, target, 'wrong-password')
    if (failed.ok) throw new Error('expected a failure')
    let last = 0
    for (let i = 0; i < 7; i++) {
      const started = performance.now()
      await visitor.request(failed.action, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: target, password: 'wrong-password' }),
      })
      last = performance.now() - started
    }
    expect(last).toBeGreaterThanOrEqual(400)
  })

  it('sets an HttpOnly, SameSite=Lax session cookie, and refuses a callback this browser did not start', async () => {
    const visitor = browser(running.url)
    expect((await signIn(visitor, DEV_EMAIL, DEV_PASSWORD)).ok).toBe(true)
    const line = visitor.setCookieLines.find((l) => l.startsWith('eyepop_session='))
    expect(line).toMatch(/HttpOnly/i)
    expect(line).toMatch(/SameSite=Lax/i)
    expect(line).toMatch(/Path=\//)
    const res = await request(running.emulator.app).get('/dashboard/callback?code=x&state=y')
    expect(res.status).toBe(403)
    expect(res.body).toMatchObject({ error: 'access_denied' })
  })

  it('signs out: the session ends and the next visit asks for the password again', async () => {
    const visitor = browser(running.url)
    expect((await signIn(visitor, DEV_EMAIL, DEV_PASSWORD)).ok).toBe(true)
    const { csrfToken } = (await (await api(visitor, '/session')).json()) as { csrfToken: string }
    const refused = await visitor.request('/dashboard/logout', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'csrf=wrong' })
    expect(refused.status).toBe(403)
    const out = await visitor.request('/dashboard/logout', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf: csrfToken }) })
    expect(out.status).toBe(303)
    expect((await api(visitor, '/session')).status).toBe(401)
    const again = await follow(visitor, '/dashboard')
    expect(again.path).toMatch(/^\/interaction\//)
  })
})

describe('the key-management API', () => {
  describe('with a signed-in session', () => {
    it('creates a key (shown once), lists it without the secret, gets and deletes it', async () => {
      const created = await api(dev, '/keys', { method: 'POST', headers: { 'X-CSRF-Token': csrf }, json: { name: 'From the API', expires: '30d' } })
      expect(created.status).toBe(201)
      const key = (await created.json()) as { id: string; key: string; name: string }
      expect(key).toMatchObject({ name: 'From the API', key: expect.stringMatching(/^eyp_/) })
      const listed = await (await api(dev, '/keys')).text()
      expect(listed).toContain(key.id)
      expect(listed).not.toContain(key.key)
      expect((await api(dev, `/keys/${key.id}`)).status).toBe(200)
      const deleted = await api(dev, `/keys/${key.id}`, { method: 'DELETE', headers: { 'X-CSRF-Token': csrf } })
      expect(deleted.status).toBe(204)
      expect((await api(dev, `/keys/${key.id}`)).status).toBe(404)
    })

    it('creates and lists Pops', async () => {
      const created = await api(dev, '/pops', { method: 'POST', headers: { 'X-CSRF-Token': csrf }, json: { name: 'Street cam' } })
      expect(created.status).toBe(201)
      const pop = (await created.json()) as { id: string }
      expect(((await (await api(dev, '/pops')).json()) as { pops: Array<{ id: string }> }).pops.map((p) => p.id)).toContain(pop.id)
      expect((await api(dev, `/pops/${pop.id}`)).status).toBe(200)
    })

    it('refuses a change without the CSRF token, with a wrong one, or from another origin', async () => {
      const attempts: Array<Record<string, string>> = [{}, { 'X-CSRF-Token': 'wrong' }, { 'X-CSRF-Token': csrf, Origin: 'https://evil.example' }]
      for (const headers of attempts) {
        const res = await api(dev, '/keys', { method: 'POST', headers, json: { name: 'csrf' } })
        expect(res.status).toBe(403)
        expect(await res.json()).toMatchObject({ error: 'access_denied' })
      }
    })

    it('answers another account keys and Pops with 404, never their data', async () => {
      for (const res of [
        await api(dev, `/keys/${other.keyId}`),
        await api(dev, `/keys/${other.keyId}`, { method: 'DELETE', headers: { 'X-CSRF-Token': csrf } }),
        await api(dev, `/pops/${other.popId}`),
      ]) {
        expect(res.status).toBe(404)
        expect(await res.text()).not.toContain(other.id)
      }
      expect(await (await api(dev, '/keys')).text()).not.toContain(other.keyId)
      expect((await running.emulator.services.keys.get(other.id, other.keyId)).status).toBe('active')
    })

    it('refuses bad input with 400', async () => {
      const cases: Array<RequestInit & { json?: unknown }> = [
        { json: { name: '' } },
        { json: { name: 'x'.repeat(101) } },
        { json: { name: 'ok', expires: '2d' } },
        { json: ['name'] },
        { body: '{"name":', headers: { 'Content-Type': 'application/json' } },
      ]
      for (const init of cases) {
        const res = await api(dev, '/keys', { method: 'POST', ...init, headers: { ...(init.headers as Record<string, string>), 'X-CSRF-Token': csrf } })
        expect(res.status).toBe(400)
        expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) })
      }
      expect((await api(dev, '/audit?limit=0')).status).toBe(400)
    })
  })

  describe('without a session or a user token', () => {
    it('responds 401 with a JSON body', async () => {
      const res = await request(running.emulator.app).get('/api/v1/keys')
      expect(res.status).toBe(401)
      expect(res.body).toMatchObject({ error: 'invalid_request' })
    })
  })

  describe('with an API key, its token or a temporary key', () => {
    it('responds 403 with a clear error', async () => {
      const { services } = running.emulator
      const created = await services.keys.create(services.defaultAccount.id, { name: 'server', expires: 'never' })
      const pop = await services.pops.create(services.defaultAccount.id, { name: 'p' })
      const token = (await running.emulator.tokens.exchangeApiKey(created.key)).access_token
      const temporary = (await running.emulator.tokens.mintTemporaryKey({ apiKey: created.key }, { popId: pop.id })).accessToken
      for (const credential of [created.key, token, temporary]) {
        const res = await request(running.emulator.app).get('/api/v1/keys').set('Authorization', `Bearer ${credential}`)
        expect(res.status).toBe(403)
        expect(res.body.error).toBe('access_denied')
        expect(res.text).not.toContain(credential)
      }
      const garbage = await request(running.emulator.app).get('/api/v1/keys').set('Authorization', 'Bearer not.a.token')
      expect(garbage.status).toBe(401)
    })
  })

  it('serves its OpenAPI document', async () => {
    const res = await request(running.emulator.app).get('/openapi.json').expect(200)
    expect(res.body.openapi).toBe('3.1.0')
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/api/v1/keys', '/api/v1/keys/{id}', '/api/v1/pops', '/api/v1/audit']))
  })

  it('sends security headers on its pages and API', async () => {
    const res = await request(running.emulator.app).get('/api/v1/keys')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'")
  })
})
