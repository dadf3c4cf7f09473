import { decodeJwt, SignJWT } from 'jose'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ACCESS_TOKEN_TOKEN_TYPE,
  API_KEY_TOKEN_TYPE,
  TEMPORARY_KEY_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
} from '../../src/provider/token-exchange.js'
import { createTestEmulator, type TestEmulator } from '../helpers.js'

let emulator: TestEmulator
let key: string
let serverToken: string
let popId: string
let otherPopId: string
let other: Awaited<ReturnType<TestEmulator['createOtherAccount']>>

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` })

function mintSession(credential: string, body: Record<string, unknown>) {
  return request(emulator.app).post('/v1/auth/client-sessions').set(bearer(credential)).send(body)
}

function exchange(params: Record<string, string>) {
  return request(emulator.app)
    .post('/token')
    .type('form')
    .send({ grant_type: TOKEN_EXCHANGE_GRANT, client_id: 'eyepop-sdk', requested_token_type: TEMPORARY_KEY_TOKEN_TYPE, ...params })
}

function expectError(res: request.Response, status: number, error: string, secrets: string[] = []) {
  expect(res.status, res.text).toBe(status)
  expect(res.body).toMatchObject({ error, error_description: expect.any(String) })
  for (const secret of secrets) expect(res.text).not.toContain(secret)
}

beforeAll(async () => {
  emulator = await createTestEmulator()
  key = (await emulator.createKey('server')).key
  serverToken = (await request(emulator.app).post('/v1/auth/authenticate').set(bearer(key)).expect(200)).body.access_token
  popId = (await emulator.createPop('browser pop')).id
  otherPopId = (await emulator.createPop('second pop')).id
  other = await emulator.createOtherAccount()
})
afterAll(() => emulator.close())

describe('POST /v1/auth/client-sessions', () => {
  describe('with the API key as Bearer', () => {
    it('responds 200 with a session the EyePop SDK takes: eyepopUrl, accessToken, validUntil (ms), popId', async () => {
      const before = Date.now()
      const res = await mintSession(key, { pop_id: popId }).expect(200)
      expect(res.body).toEqual({ eyepopUrl: emulator.issuer, accessToken: expect.any(String), validUntil: expect.any(Number), popId })
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.body.validUntil).toBeGreaterThanOrEqual(before + 899_000)
      expect(res.body.validUntil).toBeLessThanOrEqual(Date.now() + 900_000)
      const claims = decodeJwt(res.body.accessToken)
      expect(claims).toMatchObject({ temporary: true, pop_id: popId, scope: 'access:inference-api', sub: emulator.accountId })
    })

    it('honours a shorter lifetime and allowed origins', async () => {
      const res = await mintSession(key, { pop_id: popId, ttl_seconds: 60, allowed_origins: ['http://localhost:5173'] }).expect(200)
      const claims = decodeJwt(res.body.accessToken)
      expect(claims.exp! - claims.iat!).toBe(60)
      expect(claims.allowed_origins).toEqual(['http://localhost:5173'])
    })
  })

  describe('with a server access token as Bearer', () => {
    it('mints a temporary key that never outlives the token', async () => {
      let now = Date.now()
      const clocked = await createTestEmulator({ tokenTtlSeconds: 600 }, { now: () => now })
      try {
        const k = (await clocked.createKey()).key
        const pop = await clocked.createPop()
        const t = (await request(clocked.app).post('/v1/auth/authenticate').set(bearer(k))).body.access_token
        now += 300_000
        const res = await request(clocked.app).post('/v1/auth/client-sessions').set(bearer(t)).send({ pop_id: pop.id, ttl_seconds: 3600 }).expect(200)
        expect(res.body.validUntil).toBe(decodeJwt(t).exp! * 1000)
      } finally {
        await clocked.close()
      }
    })
  })

  describe('with a request that breaks a rule', () => {
    const cases: Array<[string, () => request.Test, number, string]> = [
      ['no pop_id', () => mintSession(key, {}), 400, 'invalid_request'],
      ['a pop of another account', () => mintSession(key, { pop_id: other.pop.id }), 400, 'invalid_target'],
      ['an unknown pop', () => mintSession(key, { pop_id: '0'.repeat(32) }), 400, 'invalid_target'],
      ['a lifetime above the maximum', () => mintSession(key, { pop_id: popId, ttl_seconds: 3601 }), 400, 'invalid_request'],
      ['a zero lifetime', () => mintSession(key, { pop_id: popId, ttl_seconds: 0 }), 400, 'invalid_request'],
      ['a fractional lifetime', () => mintSession(key, { pop_id: popId, ttl_seconds: 1.5 }), 400, 'invalid_request'],
      ['a string lifetime', () => mintSession(key, { pop_id: popId, ttl_seconds: '60' }), 400, 'invalid_request'],
      ['a scope escalation', () => mintSession(key, { pop_id: popId, scope: 'admin:clouds' }), 400, 'invalid_scope'],
      ['an origin with a path', () => mintSession(key, { pop_id: popId, allowed_origins: ['http://localhost:3000/app'] }), 400, 'invalid_request'],
      ['origins that are not a list', () => mintSession(key, { pop_id: popId, allowed_origins: 'http://localhost:3000' }), 400, 'invalid_request'],
      ['an empty origin list (it would mean any origin)', () => mintSession(key, { pop_id: popId, allowed_origins: [] }), 400, 'invalid_request'],
      ['a malformed JSON body', () => request(emulator.app).post('/v1/auth/client-sessions').set(bearer(key)).set('Content-Type', 'application/json').send('{'), 400, 'invalid_request'],
      ['no Authorization', () => request(emulator.app).post('/v1/auth/client-sessions').send({ pop_id: popId }), 401, 'invalid_client'],
      ['a bad key', () => mintSession(`${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`, { pop_id: popId }), 401, 'invalid_client'],
      ['a forged token', () => mintSession('eyJhbGciOiJub25lIn0.e30.', { pop_id: popId }), 401, 'invalid_token'],
    ]
    for (const [name, send, status, error] of cases) {
      it(`responds ${status} ${error} to ${name}`, async () => {
        expectError(await send(), status, error, [key])
      })
    }

    it('responds 403 when a temporary key tries to mint another', async () => {
      const temporary = (await mintSession(key, { pop_id: popId }).expect(200)).body.accessToken
      const res = await mintSession(temporary, { pop_id: popId })
      expectError(res, 403, 'access_denied')
      expect(res.body.error_description).toBe('a temporary key cannot mint other keys')
    })

    it('responds 403 to a browser, saying API keys belong on servers', async () => {
      const res = await mintSession(key, { pop_id: popId }).set('Origin', 'http://localhost:3000')
      expectError(res, 403, 'access_denied', [key])
      expect(res.body.error_description).toMatch(/^api keys belong on servers/)
    })
  })
})

describe('RFC 8693 exchange for a temporary key at /token', () => {
  it('mints one from the API key with a Pop resource, a lifetime and origins', async () => {
    const res = await exchange({
      subject_token: key,
      subject_token_type: API_KEY_TOKEN_TYPE,
      resource: `urn:eyepop:pop:${popId}`,
      requested_expires_in: '120',
      allowed_origins: 'http://localhost:3000 http://localhost:5173',
    }).expect(200)
    expect(res.body).toMatchObject({ issued_token_type: TEMPORARY_KEY_TOKEN_TYPE, token_type: 'Bearer', expires_in: 120, scope: 'access:inference-api' })
    expect(decodeJwt(res.body.access_token)).toMatchObject({ temporary: true, pop_id: popId, allowed_origins: ['http://localhost:3000', 'http://localhost:5173'] })
  })

  it('mints one from a server access token', async () => {
    const res = await exchange({ subject_token: serverToken, subject_token_type: ACCESS_TOKEN_TOKEN_TYPE, resource: `urn:eyepop:pop:${popId}` }).expect(200)
    expect(decodeJwt(res.body.access_token).pop_id).toBe(popId)
  })

  describe('refuses', () => {
    const base = () => ({ subject_token: key, subject_token_type: API_KEY_TOKEN_TYPE, resource: `urn:eyepop:pop:${popId}` })
    const cases: Array<[string, () => Record<string, string>, string]> = [
      ['no Pop resource', () => ({ ...base(), resource: '' }), 'invalid_target'],
      ['another account Pop', () => ({ ...base(), resource: `urn:eyepop:pop:${other.pop.id}` }), 'invalid_target'],
      ['a lifetime above the maximum', () => ({ ...base(), requested_expires_in: '7200' }), 'invalid_request'],
      ['a negative lifetime', () => ({ ...base(), requested_expires_in: '-5' }), 'invalid_request'],
      ['a scope escalation', () => ({ ...base(), scope: 'access:inference-api admin:clouds' }), 'invalid_scope'],
      ['a bad origin', () => ({ ...base(), allowed_origins: 'javascript:alert(1)' }), 'invalid_request'],
      ['an empty origin list (it would mean any origin)', () => ({ ...base(), allowed_origins: '' }), 'invalid_request'],
      ['an origin list of spaces', () => ({ ...base(), allowed_origins: '   ' }), 'invalid_request'],
      ['an unknown requested token type', () => ({ ...base(), requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 'invalid_request'],
      ['a server token exchanged for a token', () => ({ subject_token: serverToken, subject_token_type: ACCESS_TOKEN_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TOKEN_TYPE }), 'invalid_request'],
      ['a garbage access token', () => ({ ...base(), subject_token: 'abc.def.ghi', subject_token_type: ACCESS_TOKEN_TOKEN_TYPE }), 'invalid_request'],
    ]
    for (const [name, params, error] of cases) {
      it(`${name} with 400 ${error}`, async () => {
        expectError(await exchange(params()), 400, error, [key, serverToken])
      })
    }

    it('a temporary key exchanged for another, or for a longer-lived token', async () => {
      const temporary = (await exchange(base()).expect(200)).body.access_token
      const again = await exchange({ subject_token: temporary, subject_token_type: ACCESS_TOKEN_TOKEN_TYPE, resource: `urn:eyepop:pop:${popId}` })
      expectError(again, 400, 'access_denied')
      const longer = await exchange({ subject_token: temporary, subject_token_type: ACCESS_TOKEN_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TOKEN_TYPE })
      expectError(longer, 400, 'invalid_request')
    })

    it('an API key sent from a browser', async () => {
      const res = await exchange(base()).set('Origin', 'http://localhost:3000')
      expectError(res, 403, 'access_denied', [key])
      expect(res.body.error_description).toMatch(/^api keys belong on servers/)
    })
  })
})

describe('using a temporary key', () => {
  let temporary: string
  beforeAll(async () => {
    temporary = (await mintSession(key, { pop_id: popId, allowed_origins: ['http://localhost:3000'] }).expect(200)).body.accessToken
  })

  it('reaches its Pop and the pipeline of its Pop', async () => {
    const config = await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(temporary)).expect(200)
    await request(emulator.app).get(`/worker/pipelines/${config.body.pipeline_id}`).set(bearer(temporary)).expect(200)
    await request(emulator.app)
      .patch(`/worker/pipelines/${config.body.pipeline_id}/source?mode=preempt&processing=sync`)
      .set(bearer(temporary))
      .send({ sourceType: 'NONE' })
      .expect(204)
  })

  it('gets 403 insufficient_scope on another Pop of the same account', async () => {
    const res = await request(emulator.app).get(`/pops/${otherPopId}/config`).set(bearer(temporary))
    expectError(res, 403, 'insufficient_scope')
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope"/)
    const otherPipeline = (await request(emulator.app).get(`/pops/${otherPopId}/config`).set(bearer(serverToken))).body.pipeline_id
    expectError(await request(emulator.app).get(`/worker/pipelines/${otherPipeline}`).set(bearer(temporary)), 403, 'insufficient_scope')
  })

  it('gets 403 on the data API and its WebSocket, even with access:datasets', async () => {
    const withDatasets = (await mintSession(key, { pop_id: popId, scope: 'access:inference-api access:datasets' }).expect(200)).body.accessToken
    expect(decodeJwt(withDatasets).scope).toBe('access:inference-api access:datasets')
    for (const path of ['/data/config', '/data/security/check']) {
      expectError(await request(emulator.app).get(path).set(bearer(withDatasets)), 403, 'insufficient_scope')
    }
    expectError(await request(emulator.app).post('/events').set(bearer(withDatasets)).send('trace'), 403, 'insufficient_scope')
    expectError(await request(emulator.app).get('/v1/configs').set(bearer(withDatasets)), 403, 'access_denied')
  })

  it('gets 403 on transient workers', async () => {
    expectError(await request(emulator.app).get('/workers/config').set(bearer(temporary)), 403, 'insufficient_scope')
    expectError(await request(emulator.app).post('/worker/pipelines').set(bearer(temporary)).send({}), 403, 'insufficient_scope')
  })

  it('gets 403 from an origin it does not allow, and passes from its own', async () => {
    await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(temporary)).set('Origin', 'http://localhost:3000').expect(200)
    expectError(await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(temporary)).set('Origin', 'http://localhost:4000'), 403, 'insufficient_scope')
  })

  it('cannot authenticate as an API key', async () => {
    expectError(await request(emulator.app).post('/v1/auth/authenticate').set(bearer(temporary)), 401, 'invalid_client')
  })

  it('gets 401 once expired', async () => {
    let now = Date.now()
    const clocked = await createTestEmulator({}, { now: () => now })
    try {
      const k = (await clocked.createKey()).key
      const pop = await clocked.createPop()
      const session = (await request(clocked.app).post('/v1/auth/client-sessions').set(bearer(k)).send({ pop_id: pop.id, ttl_seconds: 60 }).expect(200)).body
      await request(clocked.app).get(`/pops/${pop.id}/config`).set(bearer(session.accessToken)).expect(200)
      now += 70_000 // past expiry and the 5 s clock tolerance
      const res = await request(clocked.app).get(`/pops/${pop.id}/config`).set(bearer(session.accessToken))
      expectError(res, 401, 'invalid_token')
      expect(res.body.error_description).toBe('access token has expired')
    } finally {
      await clocked.close()
    }
  })

  it('refuses a temporary key whose Pop claim was tampered with', async () => {
    const [h, p, sig] = temporary.split('.')
    const payload = { ...JSON.parse(Buffer.from(p!, 'base64url').toString()), pop_id: otherPopId }
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`
    expectError(await request(emulator.app).get(`/pops/${otherPopId}/config`).set(bearer(tampered)), 401, 'invalid_token')
  })

  it('refuses tokens signed with the emulator own key but for another audience, or not yet valid', async () => {
    const claims = decodeJwt(temporary)
    const sign = (payload: Record<string, unknown>) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: emulator.keyring.signingKey.kid })
        .sign(emulator.keyring.signingKey.privateKey)
    const now = Math.floor(Date.now() / 1000)
    const wrongAudience = await sign({ ...claims, aud: 'https://other.example' })
    const notYetValid = await sign({ ...claims, iat: now + 600, exp: now + 1200 })
    const notBefore = await sign({ ...claims, nbf: now + 600 })
    const control = await sign({ ...claims })
    await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(control)).expect(200)
    for (const [token, claim] of [[wrongAudience, 'aud'], [notYetValid, 'iat'], [notBefore, 'nbf']] as const) {
      const res = await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(token))
      expectError(res, 401, 'invalid_token')
      expect(res.body.error_description).toContain(claim)
    }
  })

  it('refuses a server token forged with temporary claims removed', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const claims = decodeJwt(temporary)
    const { temporary: _t, pop_id: _p, ...rest } = claims
    const forged = await new SignJWT(rest)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: emulator.keyring.signingKey.kid })
      .sign(generateKeyPairSync('ed25519').privateKey)
    expectError(await request(emulator.app).get(`/pops/${otherPopId}/config`).set(bearer(forged)), 401, 'invalid_token')
  })
})

describe('CORS on the Pop routes', () => {
  it('answers a preflight from an allowed origin', async () => {
    const res = await request(emulator.app)
      .options(`/pops/${popId}/config`)
      .set('Origin', 'http://localhost:3000')
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'authorization')
    expect(res.status).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000')
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/)
    expect(res.headers['access-control-allow-credentials']).toBeUndefined()
  })

  it('gives no CORS headers to another origin', async () => {
    const res = await request(emulator.app)
      .options(`/pops/${popId}/config`)
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'GET')
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('allows configured origins only', async () => {
    const strict = await createTestEmulator({ corsOrigins: ['https://app.example'] })
    try {
      const allowed = await request(strict.app).options('/workers/config').set('Origin', 'https://app.example').set('Access-Control-Request-Method', 'GET')
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example')
      const local = await request(strict.app).options('/workers/config').set('Origin', 'http://localhost:3000').set('Access-Control-Request-Method', 'GET')
      expect(local.headers['access-control-allow-origin']).toBeUndefined()
    } finally {
      await strict.close()
    }
  })

  it('gives the API-key routes no CORS headers and refuses browsers there', async () => {
    const res = await request(emulator.app).post('/authentication/token').set('Origin', 'http://localhost:3000').send({ secret_key: key })
    expectError(res, 403, 'access_denied', [key])
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    const v1 = await request(emulator.app).post('/v1/auth/authenticate').set('Origin', 'http://localhost:3000').set(bearer(key))
    expectError(v1, 403, 'access_denied', [key])
  })

  it('lets API keys from browsers through when configured to', async () => {
    const lax = await createTestEmulator({ allowBrowserApiKeys: true })
    try {
      const k = (await lax.createKey()).key
      await request(lax.app).post('/authentication/token').set('Origin', 'http://localhost:3000').send({ secret_key: k }).expect(200)
    } finally {
      await lax.close()
    }
  })
})

describe('revocation and introspection', () => {
  it('revokes one temporary key (RFC 7009) within a second; others keep working', async () => {
    const a = (await mintSession(key, { pop_id: popId }).expect(200)).body.accessToken
    const b = (await mintSession(key, { pop_id: popId }).expect(200)).body.accessToken
    await request(emulator.app).post('/token/revocation').type('form').send({ token: a, token_type_hint: 'access_token' }).expect(200)
    await expect
      .poll(async () => (await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(a))).status, { timeout: 1000, interval: 10 })
      .toBe(401)
    await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(b)).expect(200)
  })

  it('answers 200 to revoking garbage, and 400 to an API key', async () => {
    await request(emulator.app).post('/token/revocation').type('form').send({ token: 'garbage' }).expect(200)
    const res = await request(emulator.app).post('/token/revocation').type('form').send({ token: key })
    expectError(res, 400, 'unsupported_token_type', [key])
    expectError(await request(emulator.app).post('/token/revocation').type('form').send({}), 400, 'invalid_request')
    expectError(await request(emulator.app).post('/token/revocation').send({ token: 'x' }), 400, 'invalid_request')
  })

  it('invalidates every temporary key of a deleted API key within a second', async () => {
    const created = await emulator.createKey('parent')
    const session = (await mintSession(created.key, { pop_id: popId }).expect(200)).body
    await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(session.accessToken)).expect(200)
    await emulator.services.keys.delete(emulator.accountId, created.id)
    await expect
      .poll(async () => (await request(emulator.app).get(`/pops/${popId}/config`).set(bearer(session.accessToken))).status, { timeout: 1000, interval: 10 })
      .toBe(401)
  })

  it('reports active with the claims, and inactive with the reason (RFC 7662)', async () => {
    const introspect = (token: string, caller = key) =>
      request(emulator.app).post('/token/introspection').set(bearer(caller)).type('form').send({ token })
    const live = (await mintSession(key, { pop_id: popId }).expect(200)).body.accessToken
    expect((await introspect(live).expect(200)).body).toMatchObject({ active: true, temporary: true, pop_id: popId, sub: emulator.accountId, token_type: 'Bearer' })
    expect((await introspect(live, serverToken).expect(200)).body.active).toBe(true)

    await request(emulator.app).post('/token/revocation').type('form').send({ token: live }).expect(200)
    await expect.poll(async () => (await introspect(live)).body, { timeout: 1000, interval: 10 }).toEqual({ active: false, reason: 'token_revoked' })

    const doomed = await emulator.createKey('doomed')
    const child = (await mintSession(doomed.key, { pop_id: popId }).expect(200)).body.accessToken
    await emulator.services.keys.delete(emulator.accountId, doomed.id)
    await expect.poll(async () => (await introspect(child)).body, { timeout: 1000, interval: 10 }).toEqual({ active: false, reason: 'key_deleted' })

    expect((await introspect('not-a-token').expect(200)).body).toEqual({ active: false, reason: 'invalid' })
    // Another account learns nothing about this account's tokens.
    expect((await introspect(live, other.key.key).expect(200)).body).toEqual({ active: false, reason: 'invalid' })
    expect((await introspect(serverToken, other.key.key).expect(200)).body).toEqual({ active: false, reason: 'invalid' })
  })

  it('reports an expired token as expired', async () => {
    let now = Date.now()
    const clocked = await createTestEmulator({}, { now: () => now })
    try {
      const k = (await clocked.createKey()).key
      const pop = await clocked.createPop()
      const t = (await request(clocked.app).post('/v1/auth/client-sessions').set(bearer(k)).send({ pop_id: pop.id, ttl_seconds: 60 })).body.accessToken
      now += 120_000
      const res = await request(clocked.app).post('/token/introspection').set(bearer(k)).type('form').send({ token: t }).expect(200)
      expect(res.body).toEqual({ active: false, reason: 'expired' })
    } finally {
      await clocked.close()
    }
  })

  it('requires the caller to authenticate, and refuses temporary keys as callers', async () => {
    const t = (await mintSession(key, { pop_id: popId }).expect(200)).body.accessToken
    expectError(await request(emulator.app).post('/token/introspection').type('form').send({ token: t }), 401, 'invalid_client')
    expectError(await request(emulator.app).post('/token/introspection').set(bearer(t)).type('form').send({ token: t }), 403, 'access_denied')
  })

  it('advertises both endpoints in discovery', async () => {
    const meta = (await request(emulator.app).get('/.well-known/openid-configuration').expect(200)).body
    expect(meta.revocation_endpoint).toMatch(/\/token\/revocation$/)
    expect(meta.introspection_endpoint).toMatch(/\/token\/introspection$/)
  })
})
