import { SignJWT, decodeJwt } from 'jose'
import { generateKeyPairSync } from 'node:crypto'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestEmulator, type TestEmulator } from '../helpers.js'

let emulator: TestEmulator
let token: string
let popId: string
let other: Awaited<ReturnType<TestEmulator['createOtherAccount']>>
let otherToken: string

async function tokenFor(key: string): Promise<string> {
  const res = await request(emulator.app).post('/authentication/token').send({ secret_key: key }).expect(200)
  return res.body.access_token as string
}

beforeAll(async () => {
  emulator = await createTestEmulator()
  token = await tokenFor((await emulator.createKey()).key)
  popId = (await emulator.createPop('People counter')).id
  other = await emulator.createOtherAccount()
  otherToken = await tokenFor(other.key.key)
})
afterAll(() => emulator.close())

const auth = (t: string) => ({ Authorization: `Bearer ${t}` })

function expectJsonError(res: request.Response, status: number, error: string) {
  expect(res.status).toBe(status)
  expect(res.body).toMatchObject({ error, error_description: expect.any(String) })
}

/**
 * The config route runs twice: through the server listener (which answers it on node:http, past
 * Express) and through the Express app (which answers CORS requests with the same handler).
 */
const TARGETS = [
  ['the server listener (node:http fast path)', () => emulator.handler],
  ['the Express app', () => emulator.app],
] as const

describe.each(TARGETS)('through %s', (_name, target) => {
  describe('GET /pops/{popId}/config', () => {
    describe('with a token of the Pop account', () => {
      it('responds 200 with a relative base_url, a pipeline id and the name', async () => {
        const res = await request(target()).get(`/pops/${popId}/config?auto_start=false`).set(auth(token)).expect(200)
        expect(res.body).toMatchObject({ base_url: '/worker', pipeline_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/), name: 'People counter' })
      })
      it('gives the same pipeline on every call', async () => {
        const a = await request(target()).get(`/pops/${popId}/config`).set(auth(token))
        const b = await request(target()).get(`/pops/${popId}/config?auto_start=True`).set(auth(token))
        expect(a.body.pipeline_id).toBe(b.body.pipeline_id)
      })
    })

    describe('without a usable token', () => {
      it('responds 401 with a bare Bearer challenge when there is no Authorization header', async () => {
        const res = await request(target()).get(`/pops/${popId}/config`)
        expectJsonError(res, 401, 'invalid_request')
        expect(res.headers['www-authenticate']).toBe('Bearer realm="eyepop"')
      })
      it('responds 400 to a non-Bearer scheme, with its challenge', async () => {
        const res = await request(target()).get(`/pops/${popId}/config`).set('Authorization', `Basic ${token}`)
        expectJsonError(res, 400, 'invalid_request')
        expect(res.headers['www-authenticate']).toBe(
          'Bearer realm="eyepop", error="invalid_request", error_description="authorization header must use the Bearer scheme"',
        )
      })
      it('responds 401 invalid_token to a malformed token', async () => {
        const res = await request(target()).get(`/pops/${popId}/config`).set(auth('not.a.jwt'))
        expectJsonError(res, 401, 'invalid_token')
        expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/)
      })
      it('responds 401 to an API key used as a token', async () => {
        const key = (await emulator.createKey('as token')).key
        const res = await request(target()).get(`/pops/${popId}/config`).set(auth(key))
        expectJsonError(res, 401, 'invalid_token')
        expect(res.text).not.toContain(key)
      })
      it('responds 401 to a token signed by another key', async () => {
        const claims = decodeJwt(token)
        const { privateKey } = generateKeyPairSync('ed25519')
        const forged = await new SignJWT({ ...claims })
          .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: emulator.keyring.signingKey.kid })
          .sign(privateKey)
        expectJsonError(await request(target()).get(`/pops/${popId}/config`).set(auth(forged)), 401, 'invalid_token')
      })
      it('responds 401 to an alg:none token', async () => {
        const [, payload] = token.split('.')
        const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`
        expectJsonError(await request(target()).get(`/pops/${popId}/config`).set(auth(none)), 401, 'invalid_token')
      })
      it('responds 401 to an expired token', async () => {
        let now = Date.now()
        const clocked = await createTestEmulator({ tokenTtlSeconds: 120 }, { now: () => now })
        try {
          const key = (await clocked.createKey()).key
          const pop = await clocked.createPop()
          const t = (await request(clocked.app).post('/authentication/token').send({ secret_key: key })).body.access_token
          await request(clocked.app).get(`/pops/${pop.id}/config`).set(auth(t)).expect(200)
          now += 130_000
          const res = await request(clocked.app).get(`/pops/${pop.id}/config`).set(auth(t))
          expectJsonError(res, 401, 'invalid_token')
          expect(res.body.error_description).toBe('access token has expired')
        } finally {
          await clocked.close()
        }
      })
      it('responds 401 to a token of a deleted key, within a second', async () => {
        const created = await emulator.createKey('revoked')
        const t = await tokenFor(created.key)
        await request(target()).get(`/pops/${popId}/config`).set(auth(t)).expect(200)
        await emulator.services.keys.delete(emulator.accountId, created.id)
        const started = Date.now()
        await expect
          .poll(async () => (await request(target()).get(`/pops/${popId}/config`).set(auth(t))).status, { timeout: 1000, interval: 10 })
          .toBe(401)
        expect(Date.now() - started).toBeLessThan(1000)
      })
    })

    describe('with a token of another account', () => {
      it('responds 403 access_denied', async () => {
        expectJsonError(await request(target()).get(`/pops/${popId}/config`).set(auth(otherToken)), 403, 'access_denied')
      })
    })

    describe('with an unknown or malformed Pop id', () => {
      it('responds 404 not_found', async () => {
        expectJsonError(await request(target()).get(`/pops/${'0'.repeat(32)}/config`).set(auth(token)), 404, 'not_found')
        expectJsonError(await request(target()).get('/pops/..%2F..%2Fetc/config').set(auth(token)), 404, 'not_found')
      })
    })
  })
})

describe('GET /pops/{popId}/config, through the listener and the Express app alike', () => {
  it('answers a CORS request with its CORS headers, a %-escape with 400 and a trailing slash with 404', async () => {
    const browser = await request(emulator.handler).get(`/pops/${popId}/config`).set(auth(token)).set('Origin', 'http://localhost:5173')
    expect(browser.status).toBe(200)
    expect(browser.headers['access-control-allow-origin']).toBe('http://localhost:5173')
    const escaped = await request(emulator.handler).get(`/pops/%ZZ/config`).set(auth(token))
    expectJsonError(escaped, 400, 'invalid_request')
    const fast = await request(emulator.handler).get(`/pops/${popId}/config`).set(auth(token))
    const viaExpress = await request(emulator.app).get(`/pops/${popId}/config`).set(auth(token))
    expect(fast.status).toBe(200)
    expect(viaExpress.body).toEqual(fast.body)
    expect(fast.headers['content-type']).toBe(viaExpress.headers['content-type'])
    for (const target of [emulator.handler, emulator.app]) {
      expectJsonError(await request(target).get(`/pops/${popId}/config/`).set(auth(token)), 404, 'not_found')
    }
  })
})

describe('the worker pipelines', () => {
  it('lets a transient worker start, read, stop its source and delete its pipeline', async () => {
    const config = await request(emulator.app).get('/workers/config').set(auth(token)).expect(200)
    expect(config.body).toEqual({ base_url: '/worker' })
    const started = await request(emulator.app)
      .post('/worker/pipelines')
      .set(auth(token))
      .send({ pop: { components: [] }, source: { sourceType: 'NONE' }, idleTimeoutSeconds: 30 })
      .expect(200)
    const id = started.body.id as string
    const got = await request(emulator.app).get(`/worker/pipelines/${id}`).set(auth(token)).expect(200)
    expect(got.body).toMatchObject({ id, pop: { components: [] } })
    await request(emulator.app)
      .patch(`/worker/pipelines/${id}/source?mode=preempt&processing=sync`)
      .set(auth(token))
      .send({ sourceType: 'NONE' })
      .expect(204)
    await request(emulator.app).delete(`/worker/pipelines/${id}`).set(auth(token)).expect(204)
    expectJsonError(await request(emulator.app).get(`/worker/pipelines/${id}`).set(auth(token)), 404, 'not_found')
  })

  it('refuses another account pipeline with 403', async () => {
    const started = await request(emulator.app).post('/worker/pipelines').set(auth(token)).send({}).expect(200)
    expectJsonError(await request(emulator.app).get(`/worker/pipelines/${started.body.id}`).set(auth(otherToken)), 403, 'access_denied')
    expectJsonError(await request(emulator.app).delete(`/worker/pipelines/${started.body.id}`).set(auth(otherToken)), 403, 'access_denied')
  })

  it('refuses bad bodies with 400', async () => {
    const started = await request(emulator.app).post('/worker/pipelines').set(auth(token)).send({}).expect(200)
    expectJsonError(
      await request(emulator.app).patch(`/worker/pipelines/${started.body.id}/source`).set(auth(token)).send({ sourceType: 7 }),
      400,
      'invalid_request',
    )
    expectJsonError(
      await request(emulator.app).post('/worker/pipelines').set(auth(token)).set('Content-Type', 'application/json').send('{oops'),
      400,
      'invalid_request',
    )
  })

  it('requires a token', async () => {
    expectJsonError(await request(emulator.app).get('/workers/config'), 401, 'invalid_request')
    expectJsonError(await request(emulator.app).post('/worker/pipelines').send({}), 401, 'invalid_request')
  })
})
