/**
 * Bad input that Express, its parsers, Node's HTTP parser or oidc-provider would otherwise answer
 * with a 500, an HTML or plain-text page, or an echo of a secret.
 */
import { request as httpRequest } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose'
import { pino } from 'pino'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import type { RunningServer } from '../../src/main.js'
import { createPipelineRegistry } from '../../src/services/pipelines.js'
import { API_KEY_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/provider/token-exchange.js'
import { startTestServer } from '../helpers.js'

let running: RunningServer
let key: string
let token: string
let popId: string

beforeAll(async () => {
  running = await startTestServer()
  const { services } = running.emulator
  key = (await services.keys.create(services.defaultAccount.id, { name: 'hardening', expires: 'never' })).key
  popId = (await services.pops.create(services.defaultAccount.id, { name: 'pop' })).id
  token = (await request(running.emulator.app).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`)).body.access_token
})
afterAll(() => running.close())

/** A raw HTTP request, for what fetch and supertest will not send (repeated headers, huge headers). */
function raw(path: string, headers: Record<string, string | string[]>, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const { port } = new URL(running.url)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    })
    req.on('error', reject)
    req.end()
  })
}

function expectJsonError(res: { status: number; headers: Record<string, string>; body: unknown }, status: number) {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toMatch(/application\/json/)
  expect(res.body).toMatchObject({ error: expect.any(String), error_description: expect.any(String) })
}

describe('malformed requests', () => {
  it('answers a body that does not inflate with 400 JSON', async () => {
    const res = await request(running.emulator.app)
      .post('/authentication/token')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{}')
    expectJsonError(res, 400)
  })

  it('answers a bad %-escape in a path parameter with 400 JSON', async () => {
    for (const path of [`/pops/%ZZ/config`, '/worker/pipelines/%E0%A4%A']) {
      const res = await request(running.emulator.app).get(path).set('Authorization', `Bearer ${token}`)
      expectJsonError(res, 400)
    }
  })

  it('answers oversized headers with 431 JSON', async () => {
    const res = await raw('/healthz', { 'X-Padding': 'x'.repeat(20_000) })
    expect(res.status).toBe(431)
    expect(res.type).toMatch(/application\/json/)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' })
  })

  it('refuses a repeated Authorization header', async () => {
    const pop = await raw(`/pops/${popId}/config`, { Authorization: [`Bearer ${token}`, 'Bearer garbage'] })
    expect(pop.status).toBe(400)
    expect(JSON.parse(pop.body)).toMatchObject({ error: 'invalid_request', error_description: 'authorization header must be sent once' })
    const auth = await raw('/v1/auth/authenticate', { Authorization: [`Bearer ${key}`, `Bearer ${key}`] }, 'POST')
    expect(auth.status).toBe(401)
    expect(auth.body).not.toContain(key)
  })

  it('does not repeat a key pasted into an unknown path', async () => {
    const res = await request(running.emulator.app).get(`/${key}`)
    expectJsonError(res, 404)
    expect(res.text).not.toContain(key)
  })

  it('does not repeat a key passed as a scope', async () => {
    const res = await request(running.emulator.app)
      .post('/token')
      .type('form')
      .send({ grant_type: TOKEN_EXCHANGE_GRANT, client_id: 'eyepop-sdk', subject_token: key, subject_token_type: API_KEY_TOKEN_TYPE, scope: key })
    expect(res.status).toBe(400)
    expect(res.text).not.toContain(key)
  })
})

describe('routes that are not the emulator own', () => {
  it('answers JSON 404 where oidc-provider would answer HTML or text', async () => {
    for (const [method, path] of [['get', '/token'], ['post', '/.well-known/openid-configuration'], ['get', '/me'], ['get', '/reg']] as const) {
      expectJsonError(await request(running.emulator.app)[method](path), 404)
    }
  })

  it('answers a bad sign-in request with JSON to an API client and a page to a browser', async () => {
    expectJsonError(await request(running.emulator.app).get('/auth?client_id=nope').set('Accept', 'application/json'), 400)
    const page = await request(running.emulator.app).get('/auth?client_id=nope').set('Accept', 'text/html')
    expect(page.status).toBe(400)
    expect(page.headers['content-type']).toMatch(/text\/html/)
    expect(page.text).toContain('role="alert"')
    expect(page.text).not.toMatch(/\bat .+\.(js|ts):\d+/)
  })

  it('answers the device pages out of their flow with 400, not the 500 oidc-provider would (found by the fuzz run)', async () => {
    await running.emulator.ready
    const cases = [
      () => request(running.emulator.app).get('/device/auth'),
      () => request(running.emulator.app).post('/device').type('form').send({ user_code: 'ABCD-EFGH' }),
      () => request(running.emulator.app).post('/device').type('form').send({}),
    ]
    for (const send of cases) expectJsonError(await send().set('Accept', 'application/json'), 400)
    const page = await request(running.emulator.app).post('/device').type('form').send({}).set('Accept', 'text/html')
    expect(page.status).toBe(400)
    expect(page.text).toContain('start again at /device')
  })

  it('answers the token endpoints with JSON even to a client that prefers HTML (found by the fuzz run)', async () => {
    await running.emulator.ready
    const post = (path: string) => request(running.emulator.app).post(path).set('Accept', 'text/html').set('Content-Type', 'application/json').send('{}')
    for (const path of ['/token', '/device/auth']) expectJsonError(await post(path), 400)
    // Another case is another path (the one matching rule): a JSON 404 too.
    expectJsonError(await post('/TOKEN'), 404)
  })

  it('answers a preflight on an API-key route with no CORS headers and no text', async () => {
    const res = await request(running.emulator.app)
      .options('/authentication/token')
      .set('Origin', 'http://localhost:3000')
      .set('Access-Control-Request-Method', 'POST')
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('advertises only what the emulator supports in discovery', async () => {
    const meta = (await request(running.emulator.app).get('/.well-known/openid-configuration').expect(200)).body
    expect(meta.token_endpoint_auth_methods_supported).toEqual(['none'])
    expect(meta.response_types_supported).toEqual(['code'])
    expect(meta.grant_types_supported).not.toContain('implicit')
    expect(meta.userinfo_endpoint).toBeUndefined()
    expect(meta.pushed_authorization_request_endpoint).toBeUndefined()
  })
})

describe('scopes on the Pop routes', () => {
  it('refuses a token without access:inference-api with 403 insufficient_scope', async () => {
    const narrow = await request(running.emulator.app)
      .post('/token')
      .type('form')
      .send({ grant_type: TOKEN_EXCHANGE_GRANT, client_id: 'eyepop-sdk', subject_token: key, subject_token_type: API_KEY_TOKEN_TYPE, scope: 'access:datasets' })
      .expect(200)
    const res = await request(running.emulator.app).get(`/pops/${popId}/config`).set('Authorization', `Bearer ${narrow.body.access_token}`)
    expectJsonError(res, 403)
    expect(res.body.error).toBe('insufficient_scope')
    const transient = await request(running.emulator.app).post('/worker/pipelines').set('Authorization', `Bearer ${narrow.body.access_token}`).send({})
    expect(transient.status).toBe(403)
  })
})

describe('signing key rotation', () => {
  it('publishes the new key in /jwks at once, and the old one keeps verifying', async () => {
    const before = (await request(running.emulator.app).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`)).body.access_token
    const rotated = await running.emulator.keyring.rotate()
    const after = (await request(running.emulator.app).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`)).body.access_token
    const jwks = createRemoteJWKSet(new URL(`${running.url}/jwks`))
    const verified = await jwtVerify(after, jwks, { issuer: running.url })
    expect(verified.protectedHeader.kid).toBe(rotated.kid)
    await expect(jwtVerify(before, createLocalJWKSet(running.emulator.keyring.jwks()))).resolves.toBeTruthy()
    await request(running.emulator.app).get(`/pops/${popId}/config`).set('Authorization', `Bearer ${before}`).expect(200)
  })
})

describe('revocation across a restart', () => {
  it('keeps refusing a deleted key token after a restart with a shorter token lifetime', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eyepop-restart-'))
    const logger = pino({ level: 'silent' })
    let now = Date.now()
    try {
      const first = await createApp({ dataDir: dir, issuer: 'http://127.0.0.1:8700', tokenTtlSeconds: 3600, logLevel: 'silent' }, { logger, now: () => now })
      const created = await first.services.keys.create(first.services.defaultAccount.id, { name: 'k', expires: 'never' })
      const t = (await first.tokens.exchangeApiKey(created.key)).access_token
      await first.services.keys.delete(first.services.defaultAccount.id, created.id)
      await first.close()
      now += 200_000
      const second = await createApp({ dataDir: dir, issuer: 'http://127.0.0.1:8700', tokenTtlSeconds: 120, logLevel: 'silent' }, { logger, now: () => now })
      try {
        await expect(second.verify(t)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' })
      } finally {
        await second.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the pipeline registry', () => {
  it('drops an account own oldest pipeline at its cap, never another account', () => {
    const registry = createPipelineRegistry({ now: Date.now, max: 100, maxPerAccount: 3 })
    const other = registry.start('b', { pop: {} })
    const mine = [1, 2, 3, 4].map(() => registry.start('a', { pop: {} }))
    expect(registry.get(mine[0]!.id)).toBeUndefined()
    for (const p of mine.slice(1)) expect(registry.get(p.id)).toBeDefined()
    expect(registry.get(other.id)).toBeDefined()
  })

  it('keeps at most its global cap', () => {
    const registry = createPipelineRegistry({ now: Date.now, max: 5, maxPerAccount: 5 })
    const all = ['a', 'b', 'c', 'd', 'e', 'f'].map((account) => registry.start(account, { pop: {} }))
    expect(registry.get(all[0]!.id)).toBeUndefined()
    expect(registry.get(all[5]!.id)).toBeDefined()
  })
})

describe('a multipart upload cut before its closing boundary', () => {
  it('gets 400 invalid_request, and the server keeps serving', async () => {
    const config = await fetch(`${running.url}/pops/${popId}/config`, { headers: { Authorization: `Bearer ${token}` } })
    const { pipeline_id: pipelineId } = (await config.json()) as { pipeline_id: string }
    // The part opens and the body ends: busboy fails the form and the open file part at once.
    const body = '--X\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\nabc'
    // An error event nothing listens to is thrown: outside a test runner, the process would exit.
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown) => uncaught.push(err)
    process.prependListener('uncaughtException', onUncaught)
    try {
      const res = await fetch(`${running.url}/worker/pipelines/${pipelineId}/source?mode=queue&processing=sync`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'multipart/form-data; boundary=X' },
        body,
      })
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: 'multipart upload is malformed' })
      expect((await fetch(`${running.url}/.well-known/openid-configuration`)).status).toBe(200)
      expect(uncaught).toEqual([])
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })
})
