import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as errors from '../../src/errors.js'
import { httpAnswerOf } from '../../src/middleware/http-answer.js'
import { createAuthenticator, requireAccessToken } from '../../src/middleware/require-access-token.js'
import type { AccessTokenVerifier } from '../../src/token/verify.js'

/** Every auth-core error, with the answer an HTTP server gives it. */
const cases: Array<[errors.AnyAuthCoreError, number, string]> = [
  [new errors.ApiKeyMalformed('api key has a bad checksum'), 401, 'invalid_client'],
  [new errors.ApiKeyInvalid('api key is not valid'), 401, 'invalid_client'],
  [new errors.ApiKeyExpired('api key has expired'), 401, 'invalid_client'],
  [new errors.ApiKeyRevoked('api key was deleted'), 401, 'invalid_client'],
  [new errors.TokenInvalid('access token is malformed'), 401, 'invalid_token'],
  [new errors.TokenExpired('access token has expired'), 401, 'invalid_token'],
  [new errors.TokenClaimInvalid('access token has the wrong audience', 'aud'), 401, 'invalid_token'],
  [new errors.TokenRevoked('access token was revoked'), 401, 'invalid_token'],
  [new errors.TokenScopeInsufficient('temporary key is bound to another pop'), 403, 'insufficient_scope'],
  [new errors.CredentialMissing('access token must be provided in the Authorization header'), 401, 'invalid_request'],
  [new errors.AuthorizationMalformed('authorization header must use the Bearer scheme'), 400, 'invalid_request'],
  [new errors.RevocationStale('revocation status is unknown'), 503, 'temporarily_unavailable'],
  [new errors.TokenRequestFailed('token request failed'), 500, 'server_error'],
  [new errors.TokenRequestTimeout('token request timed out'), 500, 'server_error'],
  [new errors.NotFound('no such key'), 404, 'not_found'],
  [new errors.Conflict('key id already exists'), 409, 'conflict'],
  [new errors.StoreError('disk I/O error at /secret/path'), 503, 'temporarily_unavailable'],
]

describe('httpAnswerOf()', () => {
  it('covers every error class auth-core exports', () => {
    const classes = Object.values(errors).filter(
      (value): value is typeof errors.AuthCoreError => typeof value === 'function' && value.prototype instanceof errors.AuthCoreError,
    )
    expect(new Set(cases.map(([err]) => err.code))).toEqual(new Set(classes.map((c) => c.code)))
  })

  it.each(cases)('answers %s with %i %s', (err, status, error) => {
    const answer = httpAnswerOf(err)
    expect(answer).toMatchObject({ status, error, expose: status < 500 || status === 503 })
    if (status < 500 && err.code !== 'ERR_API_KEY_MALFORMED') expect(answer.description).toBe(err.message)
    expect(answer.retryAfterSeconds).toBe(status === 503 ? 1 : undefined)
  })
})

describe('requireAccessToken() answers a refusal as httpAnswerOf() says', () => {
  let server: Server
  let baseUrl: string
  let thrown: errors.AnyAuthCoreError

  beforeAll(async () => {
    const verify: AccessTokenVerifier = async () => {
      throw thrown
    }
    const middleware = requireAccessToken({ verify })
    server = createServer((req, res) => {
      void middleware(req, res, () => res.end('admitted'))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it.each(cases)('%s', async (err) => {
    thrown = err
    const answer = httpAnswerOf(err)
    const res = await fetch(baseUrl, { headers: { Authorization: 'Bearer aaa.bbb.ccc' } })
    expect(res.status).toBe(answer.status)
    expect(res.headers.get('retry-after')).toBe(answer.retryAfterSeconds === undefined ? null : String(answer.retryAfterSeconds))
    const body = (await res.json()) as { error: string; error_description: string }
    expect(body.error).toBe(answer.error)
    // A 5xx never carries its internal message.
    if (answer.expose) expect(body.error_description).toBe(answer.description)
    // An internal message never reaches the client: a 5xx's, and a store's (it may name a path or a host).
    if (!answer.expose || err instanceof errors.StoreError) expect(body.error_description).not.toContain(err.message)
  })
})

describe('createAuthenticator()', () => {
  const request = (headers: Record<string, string>, rawHeaders = Object.entries(headers).flat()) =>
    ({ headers, rawHeaders }) as unknown as import('node:http').IncomingMessage
  const claims = { sub: 'acct', key_id: 'key_1', scope: 'inference', jti: 'j', exp: 2e9, iat: 1e9, iss: 'i', aud: 'a' }
  const verified = { token: 'aaa.bbb.ccc', claims, scopes: ['inference'], expiresAt: 2e12 }
  const verify = Object.assign(async (token: string) => {
    if (token !== 'aaa.bbb.ccc') throw new errors.TokenInvalid('access token is malformed')
    return verified
  }, { cached: (token: string) => (token === 'cached.bbb.ccc' ? { ...verified, token } : undefined) }) as unknown as AccessTokenVerifier

  it('resolves the principal of a new token, and returns a cached one at once (no promise)', async () => {
    const authenticate = createAuthenticator({ verify, scopes: ['inference'] })
    const pending = authenticate(request({ authorization: 'Bearer aaa.bbb.ccc' }))
    expect(pending).toBeInstanceOf(Promise)
    expect(await pending).toMatchObject({ accountId: 'acct', keyId: 'key_1', scopes: ['inference'] })
    const at_once = authenticate(request({ authorization: 'bearer cached.bbb.ccc' }))
    expect(at_once).not.toBeInstanceOf(Promise)
    expect(at_once).toMatchObject({ accountId: 'acct', keyId: 'key_1' })
  })

  it('throws an auth-core error for each refusal, which httpAnswerOf answers', async () => {
    const authenticate = createAuthenticator({ verify, scopes: ['inference', 'access:datasets'] })
    expect(() => authenticate(request({}))).toThrow(errors.CredentialMissing)
    expect(() => authenticate(request({ authorization: 'Basic abc' }))).toThrow(errors.AuthorizationMalformed)
    expect(() =>
      authenticate(request({ authorization: 'Bearer aaa.bbb.ccc' }, ['Authorization', 'Bearer aaa.bbb.ccc', 'authorization', 'Bearer x'])),
    ).toThrow('authorization header must be sent once')
    await expect(authenticate(request({ authorization: 'Bearer zzz.bbb.ccc' }))).rejects.toBeInstanceOf(errors.TokenInvalid)
    const scope = await Promise.resolve(authenticate(request({ authorization: 'Bearer aaa.bbb.ccc' }))).catch((err: unknown) => err)
    expect(scope).toBeInstanceOf(errors.TokenScopeInsufficient)
    expect((scope as errors.TokenScopeInsufficient).requiredScopes).toEqual(['inference', 'access:datasets'])
  })
})
