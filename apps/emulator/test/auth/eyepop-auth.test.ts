import { decodeJwt, decodeProtectedHeader } from 'jose'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestEmulator, type TestEmulator } from '../helpers.js'

let emulator: TestEmulator
let key: string

beforeAll(async () => {
  emulator = await createTestEmulator()
  key = (await emulator.createKey()).key
})
afterAll(() => emulator.close())

/** Asserts an OAuth-style JSON error that does not echo `secret`. */
function expectError(res: request.Response, status: number, error: string, secret?: string) {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toMatch(/application\/json/)
  expect(res.body).toMatchObject({ error, error_description: expect.any(String) })
  expect(res.text).not.toMatch(/\bat .+\.(js|ts):\d+/) // no stack trace
  if (secret) expect(res.text).not.toContain(secret)
}

/**
 * Each test runs twice: against the server's listener, which answers the token routes straight
 * on node:http, and against the Express app, which mounts the same handlers. Both must answer
 * alike.
 */
const TARGETS = [
  ['the server listener (node:http fast path)', () => emulator.handler],
  ['the Express app', () => emulator.app],
] as const

function flip(value: string): string {
  const i = value.length - 10
  return value.slice(0, i) + (value[i] === 'a' ? 'b' : 'a') + value.slice(i + 1)
}

describe.each(TARGETS)('through %s', (_name, target) => {
  describe('POST /authentication/token (SDK 1.x)', () => {
    describe('with a valid secret_key', () => {
      it('responds 200 with a Bearer access token of the key account', async () => {
        const res = await request(target())
          .post('/authentication/token')
          .send({ secret_key: key })
          .expect('Content-Type', /json/)
          .expect(200)
        expect(res.body).toEqual({
          access_token: expect.any(String),
          token_type: 'Bearer',
          expires_in: 3600,
          expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          scope: 'access:inference-api access:datasets',
        })
        expect(res.headers['cache-control']).toBe('no-store')
        const claims = decodeJwt(res.body.access_token)
        expect(claims).toMatchObject({ iss: emulator.issuer, sub: emulator.accountId, aud: 'https://api.eyepop.ai' })
        expect(decodeProtectedHeader(res.body.access_token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' })
        await expect(emulator.verify(res.body.access_token)).resolves.toBeTruthy()
      })
    })

    describe('with bad input', () => {
      it('responds 400 to malformed JSON', async () => {
        const res = await request(target())
          .post('/authentication/token')
          .set('Content-Type', 'application/json')
          .send('{"secret_key": ')
        expectError(res, 400, 'invalid_request')
        expect(res.body.error_description).toBe('request body must be valid JSON')
      })
      it('responds 400 to a form-encoded body', async () => {
        const res = await request(target()).post('/authentication/token').type('form').send({ secret_key: key })
        expectError(res, 400, 'invalid_request', key)
      })
      it('responds 400 to a text body', async () => {
        const res = await request(target()).post('/authentication/token').type('text').send(key)
        expectError(res, 400, 'invalid_request', key)
      })
      it('responds 400 to no body', async () => {
        expectError(await request(target()).post('/authentication/token'), 400, 'invalid_request')
      })
      it('responds 400 to a JSON array', async () => {
        expectError(await request(target()).post('/authentication/token').send([key]), 400, 'invalid_request', key)
      })
      it('responds 400 to a missing secret_key', async () => {
        const res = await request(target()).post('/authentication/token').send({ api_key: key })
        expectError(res, 400, 'invalid_request', key)
        expect(res.body.error_description).toBe('secret_key must be provided in the JSON body')
      })
      it('responds 400 to a non-string secret_key', async () => {
        expectError(await request(target()).post('/authentication/token').send({ secret_key: 42 }), 400, 'invalid_request')
      })
      it('responds 400 to an oversized body', async () => {
        const res = await request(target())
          .post('/authentication/token')
          .send({ secret_key: key, padding: 'x'.repeat(70 * 1024) })
        expectError(res, 400, 'invalid_request', key)
        expect(res.body.error_description).toBe('request body is too large')
      })
      it('responds 401 invalid_client to a key with a bad checksum, without echoing it', async () => {
        const bad = flip(key)
        const res = await request(target()).post('/authentication/token').send({ secret_key: bad })
        expectError(res, 401, 'invalid_client', bad)
        expect(res.body.error_description).toMatch(/checksum/)
      })
      it('responds 401 to a truncated key', async () => {
        const bad = key.slice(0, -1)
        expectError(await request(target()).post('/authentication/token').send({ secret_key: bad }), 401, 'invalid_client', bad)
      })
      it('responds 401 to a well-formed unknown key', async () => {
        const { generateApiKey } = await import('@eyepop/auth-core')
        const unknown = generateApiKey()
        const res = await request(target()).post('/authentication/token').send({ secret_key: unknown })
        expectError(res, 401, 'invalid_client', unknown)
        expect(res.body.error_description).toBe('api key is not recognized')
      })
    })
  })

  describe('POST /v1/auth/authenticate (SDK 3.x)', () => {
    describe('with the key as Bearer and no body', () => {
      it('responds 200 with the same kind of token', async () => {
        const res = await request(target())
          .post('/v1/auth/authenticate')
          .set('Authorization', `Bearer ${key}`)
          .expect(200)
        expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, access_token: expect.any(String) })
        const claims = decodeJwt(res.body.access_token)
        expect(claims.sub).toBe(emulator.accountId)
        expect(claims.key_id).toMatch(/^key_/)
      })
      it('accepts the Python SDK headers (JSON content type, empty body)', async () => {
        await request(target())
          .post('/v1/auth/authenticate')
          .set('Authorization', `Bearer ${key}`)
          .set('Content-Type', 'application/json')
          .set('Accept', 'application/json')
          .expect(200)
      })
    })

    describe('with bad credentials', () => {
      it('responds 401 to a missing Authorization header', async () => {
        const res = await request(target()).post('/v1/auth/authenticate')
        expectError(res, 401, 'invalid_client')
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
      })
      it('responds 401 to an empty Authorization header', async () => {
        expectError(await request(target()).post('/v1/auth/authenticate').set('Authorization', ''), 401, 'invalid_client')
      })
      it('responds 401 to a Basic Authorization header', async () => {
        const res = await request(target())
          .post('/v1/auth/authenticate')
          .set('Authorization', `Basic ${Buffer.from(`${key}:`).toString('base64')}`)
        expectError(res, 401, 'invalid_client', key)
      })
      it('responds 401 to "Bearer" with no credential', async () => {
        expectError(await request(target()).post('/v1/auth/authenticate').set('Authorization', 'Bearer'), 401, 'invalid_client')
      })
      it('responds 401 to a bad checksum', async () => {
        const bad = flip(key)
        expectError(await request(target()).post('/v1/auth/authenticate').set('Authorization', `Bearer ${bad}`), 401, 'invalid_client', bad)
      })
      it('responds 400 to an oversized declared body', async () => {
        const res = await request(target())
          .post('/v1/auth/authenticate')
          .set('Authorization', `Bearer ${key}`)
          .set('Content-Type', 'application/json')
          .send({ padding: 'x'.repeat(70 * 1024) })
        expectError(res, 400, 'invalid_request', key)
      })
    })
  })

  describe('key lifecycle on both routes', () => {
    it('refuses an expired key with 401', async () => {
      let now = Date.now()
      const clocked = await createTestEmulator({}, { now: () => now })
      try {
        const created = await clocked.services.keys.create(clocked.accountId, { name: 'short', expires: '7d' })
        await request(clocked.app).post('/authentication/token').send({ secret_key: created.key }).expect(200)
        now += 8 * 86_400_000
        const res = await request(clocked.app).post('/authentication/token').send({ secret_key: created.key })
        expectError(res, 401, 'invalid_client', created.key)
        expect(res.body.error_description).toBe('api key has expired')
      } finally {
        await clocked.close()
      }
    })

    it('caps a token at its key expiry', async () => {
      const now = Date.now()
      const clocked = await createTestEmulator({}, { now: () => now })
      try {
        const created = await clocked.services.keys.create(clocked.accountId, { name: 'short', expires: '7d' })
        const res = await request(clocked.app).post('/v1/auth/authenticate').set('Authorization', `Bearer ${created.key}`).expect(200)
        expect(decodeJwt(res.body.access_token).exp! * 1000).toBeLessThanOrEqual(now + 7 * 86_400_000)
      } finally {
        await clocked.close()
      }
    })

    it('refuses a deleted key with 401 on both routes and revokes its tokens', async () => {
      const created = await emulator.createKey('to delete')
      const token = (await request(target()).post('/authentication/token').send({ secret_key: created.key })).body.access_token
      await expect(emulator.verify(token)).resolves.toBeTruthy()
      await emulator.services.keys.delete(emulator.accountId, created.id)
      for (const res of [
        await request(target()).post('/authentication/token').send({ secret_key: created.key }),
        await request(target()).post('/v1/auth/authenticate').set('Authorization', `Bearer ${created.key}`),
      ]) {
        expectError(res, 401, 'invalid_client', created.key)
        expect(res.body.error_description).toBe('api key has been deleted')
      }
      await new Promise((r) => setTimeout(r, 100))
      await expect(emulator.verify(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' })
    })

    it('records last use in a batch', async () => {
      const created = await emulator.createKey('used')
      expect((await emulator.services.keys.get(emulator.accountId, created.id)).lastUsedAt).toBeNull()
      await request(target()).post('/v1/auth/authenticate').set('Authorization', `Bearer ${created.key}`).expect(200)
      await expect
        .poll(async () => (await emulator.services.keys.get(emulator.accountId, created.id)).lastUsedAt, { timeout: 3000 })
        .not.toBeNull()
    })
  })

  describe('GET /no-such-route', () => {
    it('responds 404 with a JSON body', async () => {
      expectError(await request(target()).get('/no-such-route'), 404, 'not_found')
    })
  })
})

describe('the fast path and the Express app', () => {
  it('answer the token routes alike, and another spelling of their paths with 404', async () => {
    const fast = await request(emulator.handler).post('/v1/auth/authenticate?source=test').set('Authorization', `Bearer ${key}`)
    const viaExpress = await request(emulator.app).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`)
    for (const res of [fast, viaExpress]) {
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers.etag).toBeUndefined()
      expect(res.headers['x-powered-by']).toBeUndefined()
    }
    expect(Object.keys(fast.body)).toEqual(Object.keys(viaExpress.body))
    for (const target of [emulator.handler, emulator.app]) {
      expectError(await request(target).post('/V1/Auth/Authenticate/').set('Authorization', `Bearer ${key}`), 404, 'not_found', key)
    }
    expectError(await request(emulator.handler).get('/v1/auth/authenticate'), 404, 'not_found')
    const preflight = await request(emulator.handler)
      .options('/v1/auth/authenticate')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST')
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('answer every hot route alike through the listener and through the Express app, from one declaration', async () => {
    const pop = await emulator.createPop('route table')
    // Requests without a credential: refused the same way whichever path serves them.
    const routes: Array<[method: 'get' | 'post', path: string]> = [
      ['post', '/authentication/token'],
      ['post', '/v1/auth/authenticate'],
      ['post', '/v1/auth/client-sessions'],
      ['get', `/pops/${pop.id}/config`],
      ['post', '/token'],
    ]
    await emulator.ready
    for (const [method, path] of routes) {
      const fast = await request(emulator.handler)[method](path).set('Content-Type', 'application/json').send(method === 'post' ? '{}' : undefined)
      const viaExpress = await request(emulator.app)[method](path).set('Content-Type', 'application/json').send(method === 'post' ? '{}' : undefined)
      expect(fast.status, path).toBeGreaterThanOrEqual(400)
      expect(fast.status, path).toBeLessThan(500)
      expect({ status: viaExpress.status, error: viaExpress.body.error }, path).toEqual({ status: fast.status, error: fast.body.error })
    }
  })

  it('refuse a browser, a duplicate Authorization header and an oversized body on the fast path', async () => {
    const browser = await request(emulator.handler)
      .post('/v1/auth/authenticate')
      .set('Origin', 'https://app.example')
      .set('Authorization', `Bearer ${key}`)
    expectError(browser, 403, 'access_denied', key)
    const legacyBrowser = await request(emulator.handler)
      .post('/authentication/token')
      .set('Sec-Fetch-Site', 'cross-site')
      .send({ secret_key: key })
    expectError(legacyBrowser, 403, 'access_denied', key)
    const status = await new Promise<number>((resolve, reject) => {
      const server = emulator.handler
      void import('node:http').then(({ createServer, request: httpRequest }) => {
        const listening = createServer(server).listen(0, '127.0.0.1', () => {
          const { port } = listening.address() as import('node:net').AddressInfo
          const req = httpRequest(
            { host: '127.0.0.1', port, method: 'POST', path: '/v1/auth/authenticate', headers: ['Host', `127.0.0.1:${port}`, 'Authorization', `Bearer ${key}`, 'authorization', `Bearer ${key}`] },
            (res) => {
              res.resume()
              listening.close()
              listening.closeAllConnections()
              resolve(res.statusCode ?? 0)
            },
          )
          req.on('error', reject)
          req.end()
        })
      })
    })
    expect(status).toBe(401)
    const big = await request(emulator.handler)
      .post('/authentication/token')
      .send({ secret_key: key, padding: 'x'.repeat(emulator.config.maxBodyBytes) })
    expectError(big, 400, 'invalid_request', key)
  })
})
