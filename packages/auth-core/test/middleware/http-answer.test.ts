import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as errors from '../../src/errors.js'
import { httpAnswerOf } from '../../src/middleware/http-answer.js'
import { requireAccessToken } from '../../src/middleware/require-access-token.js'
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
  [new errors.RevocationStale('revocation status is unknown'), 503, 'temporarily_unavailable'],
  [new errors.TokenRequestFailed('token request failed'), 500, 'server_error'],
  [new errors.TokenRequestTimeout('token request timed out'), 500, 'server_error'],
  [new errors.NotFound('no such key'), 404, 'not_found'],
  [new errors.Conflict('key id already exists'), 409, 'conflict'],
  [new errors.StoreError('disk I/O error at /secret/path'), 500, 'server_error'],
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
    else expect(body.error_description).not.toContain(err.message)
  })
})
