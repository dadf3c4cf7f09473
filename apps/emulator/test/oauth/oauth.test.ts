import * as client from 'openid-client'
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/main.js'
import { ACCESS_TOKEN_TOKEN_TYPE, API_KEY_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/provider/token-exchange.js'
import { startTestServer } from '../helpers.js'

let running: RunningServer
let key: string

beforeAll(async () => {
  running = await startTestServer()
  const { services } = running.emulator
  key = (await services.keys.create(services.defaultAccount.id, { name: 'oauth', expires: 'never' })).key
})
afterAll(() => running.close())

/** Over real HTTP: the server's listener hands POST /token to oidc-provider without Express. */
function exchange(params: Record<string, string>) {
  return request(running.url).post('/token').type('form').send(params)
}

describe('oidc-provider loading in the background', () => {
  it('answers the token endpoint and discovery from the first request, and settles ready', async () => {
    const fresh = await startTestServer()
    try {
      const { services } = fresh.emulator
      const freshKey = (await services.keys.create(services.defaultAccount.id, { name: 'early', expires: 'never' })).key
      // Not awaiting `ready`: these requests wait for the provider themselves.
      const [token, discovery, viaExpress] = await Promise.all([
        request(fresh.url).post('/token').type('form').send({
          grant_type: TOKEN_EXCHANGE_GRANT,
          client_id: 'eyepop-sdk',
          subject_token: freshKey,
          subject_token_type: API_KEY_TOKEN_TYPE,
        }),
        fetch(`${fresh.url}/.well-known/openid-configuration`),
        request(fresh.emulator.app).post('/token').type('form').send({ grant_type: 'client_credentials', client_id: 'eyepop-sdk' }),
      ])
      expect(token.status).toBe(200)
      expect(token.body.issued_token_type).toBe(ACCESS_TOKEN_TOKEN_TYPE)
      expect(discovery.status).toBe(200)
      expect(viaExpress.status).toBeGreaterThanOrEqual(400)
      expect(viaExpress.body).toMatchObject({ error: expect.any(String) })
      await expect(fresh.emulator.ready).resolves.toBeUndefined()
    } finally {
      await fresh.close()
    }
  })
})

describe('discovery', () => {
  it('serves OpenID and RFC 8414 metadata with the emulator as issuer', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const res = await fetch(`${running.url}${path}`)
      expect(res.status).toBe(200)
      const meta = (await res.json()) as Record<string, unknown>
      expect(meta.issuer).toBe(running.url)
      expect(meta.token_endpoint).toBe(`${running.url}/token`)
      expect(meta.jwks_uri).toBe(`${running.url}/jwks`)
      expect(meta.grant_types_supported).toContain(TOKEN_EXCHANGE_GRANT)
    }
  })

  it('serves the public signing keys, never private parts', async () => {
    const jwks = (await (await fetch(`${running.url}/jwks`)).json()) as { keys: Record<string, unknown>[] }
    expect(jwks.keys.length).toBeGreaterThan(0)
    expect(jwks.keys[0]).toMatchObject({ kid: running.emulator.keyring.signingKey.kid, crv: 'Ed25519' })
    for (const k of jwks.keys) expect(k).not.toHaveProperty('d')
  })
})

describe('RFC 8693 token exchange with openid-client', () => {
  it('discovers the emulator and exchanges an API key for an access token', async () => {
    const config = await client.discovery(new URL(running.url), 'eyepop-sdk', undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    })
    const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE_GRANT, {
      subject_token: key,
      subject_token_type: API_KEY_TOKEN_TYPE,
    })
    expect(tokens.token_type).toBe('bearer')
    expect(tokens.expires_in).toBe(3600)
    expect((tokens as Record<string, unknown>).issued_token_type).toBe(ACCESS_TOKEN_TOKEN_TYPE)
    const jwks = createRemoteJWKSet(new URL(`${running.url}/jwks`))
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: running.url, audience: 'https://api.eyepop.ai' })
    expect(payload.sub).toBe(running.emulator.services.defaultAccount.id)
  })

  it('issues the same kind of token as the EyePop routes, verifiable with the same JWKS', async () => {
    const viaOauth = (await exchange({ grant_type: TOKEN_EXCHANGE_GRANT, client_id: 'eyepop-sdk', subject_token: key, subject_token_type: API_KEY_TOKEN_TYPE }).expect(200)).body
    const viaLegacy = (await request(running.emulator.app).post('/authentication/token').send({ secret_key: key }).expect(200)).body
    const viaV1 = (await request(running.emulator.app).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`).expect(200)).body
    const jwks = createLocalJWKSet(running.emulator.keyring.jwks())
    const claims = await Promise.all(
      [viaOauth, viaLegacy, viaV1].map(async (b) => (await jwtVerify(b.access_token, jwks, { issuer: running.url })).payload),
    )
    const shape = (c: Record<string, unknown>) => ({ iss: c.iss, sub: c.sub, aud: c.aud, scope: c.scope, key_id: c.key_id, client_id: c.client_id })
    expect(shape(claims[0]!)).toEqual(shape(claims[1]!))
    expect(shape(claims[1]!)).toEqual(shape(claims[2]!))
  })

  it('narrows the scope on request', async () => {
    const res = await exchange({ grant_type: TOKEN_EXCHANGE_GRANT, client_id: 'eyepop-sdk', subject_token: key, subject_token_type: API_KEY_TOKEN_TYPE, scope: 'access:datasets' }).expect(200)
    expect(decodeJwt(res.body.access_token).scope).toBe('access:datasets')
  })

  describe('with bad input', () => {
    const base = () => ({ grant_type: TOKEN_EXCHANGE_GRANT, client_id: 'eyepop-sdk', subject_token: key, subject_token_type: API_KEY_TOKEN_TYPE })
    const cases: Array<[string, () => Record<string, string>, number, string]> = [
      ['no subject_token', () => { const p = base(); delete (p as Partial<typeof p>).subject_token; return p }, 400, 'invalid_request'],
      ['a wrong subject_token_type', () => ({ ...base(), subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' }), 400, 'invalid_request'],
      ['a bad checksum', () => ({ ...base(), subject_token: key.slice(0, -2) + (key.endsWith('AA') ? 'BB' : 'AA') }), 400, 'invalid_request'],
      ['an unknown client', () => ({ ...base(), client_id: 'nope' }), 401, 'invalid_client'],
      ['a scope escalation', () => ({ ...base(), scope: 'admin:clouds' }), 400, 'invalid_scope'],
      ['another resource', () => ({ ...base(), resource: 'https://evil.example' }), 400, 'invalid_target'],
      ['another requested token type', () => ({ ...base(), requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 400, 'invalid_request'],
      ['an unsupported grant type', () => ({ ...base(), grant_type: 'password' }), 400, 'unsupported_grant_type'],
    ]
    for (const [name, params, status, error] of cases) {
      it(`responds ${status} ${error} to ${name}`, async () => {
        const p = params()
        const res = await exchange(p)
        expect(res.status).toBe(status)
        expect(res.body).toMatchObject({ error, error_description: expect.any(String) })
        if (p.subject_token) expect(res.text).not.toContain(p.subject_token)
      })
    }
    it('responds 400 to a JSON body', async () => {
      const res = await request(running.emulator.app).post('/token').send(base())
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('invalid_request')
    })
  })
})
