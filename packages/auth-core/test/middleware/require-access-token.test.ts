import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  requireAccessToken,
  type AuthenticatedRequest,
} from '../../src/middleware/require-access-token.js'
import { createMemoryStore } from '../../src/store/memory-store.js'
import type { KeyStore } from '../../src/store/types.js'
import { issueAccessToken, type IssueAccessTokenOptions } from '../../src/token/issue.js'
import { loadKeyring, type Keyring } from '../../src/token/keyring.js'
import { createRevocationList, type RevocationList } from '../../src/token/revocation-list.js'
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../../src/token/verify.js'

const T0 = Date.UTC(2025, 0, 15, 12)
const ISSUER = 'https://auth.example.test'
const AUDIENCE = 'https://api.example.test'
const ACCOUNT_ID = '6f1c2a9e-8d3b-4c5a-9f7e-1b2c3d4e5f60'
// RFC 6750 §3: error, error_description and scope use only %x20-21 / %x23-5B / %x5D-7E, so a
// quoted value never holds `"` or `\`.
const QUOTED = '"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"'
const CHALLENGE_RE = new RegExp(
  `^Bearer realm="eyepop", error="(invalid_request|invalid_token|insufficient_scope)", ` +
    `error_description=${QUOTED}(, scope=${QUOTED})?$`,
)

let clock: number
let store: KeyStore
let keyring: Keyring
let revocations: RevocationList
let staleRevocations: RevocationList
let verify: AccessTokenVerifier
let server: Server
let baseUrl: string

/** Runs a connect-style middleware, then the route handler, on a plain node:http server. */
function route(
  middleware: (
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) => Promise<void> | undefined,
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    void middleware(req, res, (err) => {
      if (err) {
        res.statusCode = 500
        res.setHeader('Content-Type', 'application/json')
        res.end(JSON.stringify({ error: 'server_error' }))
        return
      }
      const { auth } = req as AuthenticatedRequest
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ accountId: auth.accountId, keyId: auth.keyId, scopes: auth.scopes }))
    })
  }
}

function issue(overrides: Partial<IssueAccessTokenOptions> = {}) {
  return issueAccessToken({
    keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: ACCOUNT_ID,
    keyId: 'key_live',
    clientId: 'eyepop-sdk',
    scopes: ['access:inference-api'],
    ttlSeconds: 3600,
    now: () => clock,
    ...overrides,
  }).then((result) => result.accessToken)
}

async function get(path: string, authorization?: string) {
  const res = await fetch(baseUrl + path, {
    headers: authorization === undefined ? {} : { authorization },
  })
  const text = await res.text()
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    contentType: res.headers.get('content-type'),
    cacheControl: res.headers.get('cache-control'),
    text,
    body: JSON.parse(text) as Record<string, unknown>,
  }
}

beforeAll(async () => {
  clock = T0
  store = createMemoryStore()
  keyring = await loadKeyring({ store, now: () => T0 })
  revocations = await createRevocationList({
    source: (cursor) => store.revocations.since(cursor),
    pollIntervalMs: 60_000,
    now: () => clock,
  })
  verify = createAccessTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: keyring,
    revocations,
    // the list is synced by hand here, not by its timer
    revocationMaxAgeMs: 600_000,
    now: () => clock,
  })
  let polls = 0
  staleRevocations = await createRevocationList({
    source: async () => {
      if (polls++ > 0) throw new Error('feed unreachable')
      return { revoked: [], cursor: 0 }
    },
    pollIntervalMs: 10,
  })
  const staleVerify = createAccessTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: keyring,
    revocations: staleRevocations,
    revocationMaxAgeMs: 1,
    now: () => clock,
  })
  const broken: AccessTokenVerifier = async () => {
    throw new TypeError('the verifier itself failed')
  }
  const routes: Record<string, ReturnType<typeof route>> = {
    '/inference': route(requireAccessToken({ verify, scopes: ['access:inference-api'] })),
    '/admin': route(requireAccessToken({ verify, scopes: ['access:inference-api', 'admin'] })),
    '/open': route(requireAccessToken({ verify })),
    '/broken': route(requireAccessToken({ verify: broken })),
    '/stale': route(requireAccessToken({ verify: staleVerify })),
  }
  server = createServer((req, res) => routes[req.url ?? '']!(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  revocations.stop()
  staleRevocations.stop()
  await new Promise<void>((resolve, reject) =>
    server.close((err) => (err ? reject(err) : resolve())),
  )
})

beforeEach(() => {
  clock = T0
})

describe('requireAccessToken()', () => {
  describe('GET /inference', () => {
    describe('without an Authorization header', () => {
      it('responds 401 with a bare Bearer challenge and a JSON body', async () => {
        const res = await get('/inference')
        expect(res.status).toBe(401)
        expect(res.challenge).toBe('Bearer realm="eyepop"')
        expect(res.contentType).toMatch(/^application\/json/)
        expect(res.cacheControl).toBe('no-store')
        expect(res.body).toEqual({
          error: 'invalid_request',
          error_description: 'access token must be provided in the Authorization header',
          message: 'access token must be provided in the Authorization header',
        })
      })

      it('responds the same to an empty header', async () => {
        const res = await get('/inference', '')
        expect(res.status).toBe(401)
        expect(res.challenge).toBe('Bearer realm="eyepop"')
      })
    })

    describe('with another scheme', () => {
      it.each(['Basic dXNlcjpwYXNz', 'Token abc', 'eyJhbGciOiJFZERTQSJ9.e30.sig'])(
        'responds 400 invalid_request to %j',
        async (header) => {
          const res = await get('/inference', header)
          expect(res.status).toBe(400)
          expect(res.challenge).toMatch(CHALLENGE_RE)
          expect(res.challenge).toContain('error="invalid_request"')
          expect(res.body).toMatchObject({ error: 'invalid_request' })
        },
      )
    })

    describe('with a malformed Bearer credential', () => {
      it.each([
        ['no token', 'Bearer'],
        ['a trailing space only', 'Bearer '],
        ['two spaces', 'Bearer  abc.def.ghi'],
        ['a space inside', 'Bearer abc def'],
        ['a quote', 'Bearer abc"def'],
        ['a comma', 'Bearer abc,def'],
        ['padding in the middle', 'Bearer abc=def'],
        ['two credentials', 'Bearer abc, Bearer def'],
      ])('responds 400 invalid_request for %s', async (_label, header) => {
        const res = await get('/inference', header)
        expect(res.status).toBe(400)
        expect(res.challenge).toMatch(CHALLENGE_RE)
        expect(res.body).toMatchObject({ error: 'invalid_request' })
      })
    })

    describe('with a token that does not verify', () => {
      it('responds 401 invalid_token to an expired token', async () => {
        const token = await issue()
        clock = T0 + 2 * 3_600_000
        const res = await get('/inference', `Bearer ${token}`)
        expect(res.status).toBe(401)
        expect(res.challenge).toMatch(CHALLENGE_RE)
        expect(res.challenge).toContain('error="invalid_token"')
        expect(res.body).toEqual({
          error: 'invalid_token',
          error_description: 'access token has expired',
          message: 'access token has expired',
        })
      })

      it('responds 401 invalid_token to a token that was accepted before and has expired since', async () => {
        const token = await issue({ ttlSeconds: 60 })
        expect((await get('/inference', `Bearer ${token}`)).status).toBe(200)
        // past its expiry and the verifier's default 5 s of clock tolerance
        clock = T0 + 65_000
        const res = await get('/inference', `Bearer ${token}`)
        expect(res.status).toBe(401)
        expect(res.body).toEqual({ error: 'invalid_token', error_description: 'access token has expired', message: 'access token has expired' })
      })

      it('responds 401 invalid_token to a token that is not a JWT', async () => {
        const res = await get('/inference', 'Bearer not.a.jwt')
        expect(res.status).toBe(401)
        expect(res.challenge).toContain('error="invalid_token"')
        expect(res.body).toMatchObject({ error: 'invalid_token' })
      })

      it('responds 401 invalid_token with a well-formed challenge to a token for another audience', async () => {
        const res = await get(
          '/inference',
          `Bearer ${await issue({ audience: 'https://other.example.test' })}`,
        )
        expect(res.status).toBe(401)
        expect(res.challenge).toMatch(CHALLENGE_RE)
        expect(res.challenge).toContain('error="invalid_token"')
        expect(res.body).toMatchObject({
          error: 'invalid_token',
          error_description: expect.stringContaining('aud'),
        })
      })

      it('responds 401 invalid_token to the token of a deleted api key', async () => {
        const token = await issue({ keyId: 'key_gone' })
        await store.apiKeys.create({
          id: 'key_gone',
          accountId: ACCOUNT_ID,
          name: 'gone',
          hash: 'hash-gone',
          hint: 'abcd',
          createdAt: T0,
          expiresAt: null,
          lastUsedAt: null,
          deletedAt: null,
        })
        expect((await get('/inference', `Bearer ${token}`)).status).toBe(200)
        await store.apiKeys.markDeleted('key_gone', T0)
        await revocations.sync()
        const res = await get('/inference', `Bearer ${token}`)
        expect(res.status).toBe(401)
        expect(res.challenge).toMatch(CHALLENGE_RE)
        expect(res.body).toMatchObject({ error: 'invalid_token' })
      })

      it('never echoes the token in the challenge or the body', async () => {
        const token = await issue({ audience: 'https://other.example.test' })
        const res = await get('/inference', `Bearer ${token}`)
        for (const part of token.split('.')) {
          expect(res.challenge).not.toContain(part)
          expect(res.text).not.toContain(part)
        }
      })
    })

    describe('with a valid token', () => {
      it('calls the handler with req.auth carrying the account and api key ids', async () => {
        const res = await get('/inference', `Bearer ${await issue()}`)
        expect(res.status).toBe(200)
        expect(res.challenge).toBeNull()
        expect(res.body).toEqual({
          accountId: ACCOUNT_ID,
          keyId: 'key_live',
          scopes: ['access:inference-api'],
        })
      })

      it('accepts the scheme in any case (RFC 7235 §2.1)', async () => {
        const token = await issue()
        for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
          const res = await get('/inference', `${scheme} ${token}`)
          expect(res.status, scheme).toBe(200)
        }
      })
    })
  })

  describe('GET /admin (scopes access:inference-api and admin)', () => {
    describe('with a token lacking a required scope', () => {
      it('responds 403 insufficient_scope naming the required scopes', async () => {
        const res = await get('/admin', `Bearer ${await issue()}`)
        expect(res.status).toBe(403)
        expect(res.challenge).toMatch(CHALLENGE_RE)
        expect(res.challenge).toContain('error="insufficient_scope"')
        expect(res.challenge).toContain('scope="access:inference-api admin"')
        expect(res.body).toMatchObject({ error: 'insufficient_scope' })
      })
    })

    describe('with a token carrying every required scope', () => {
      it('responds 200', async () => {
        const res = await get(
          '/admin',
          `Bearer ${await issue({ scopes: ['admin', 'access:inference-api'] })}`,
        )
        expect(res.status).toBe(200)
        expect(res.body).toMatchObject({ scopes: ['admin', 'access:inference-api'] })
      })
    })
  })

  describe('GET /open (no required scope)', () => {
    it('accepts a token without scopes', async () => {
      const res = await get('/open', `Bearer ${await issue({ scopes: [] })}`)
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ accountId: ACCOUNT_ID, scopes: [] })
    })
  })

  describe('when the verifier fails with an error that is not an auth-core error', () => {
    it('passes it to next() instead of answering 401', async () => {
      const res = await get('/broken', `Bearer ${await issue()}`)
      expect(res.status).toBe(500)
      expect(res.challenge).toBeNull()
      expect(res.text).not.toContain('the verifier itself failed')
    })
  })

  describe('GET /stale (the revocation list cannot be refreshed)', () => {
    it('responds 503 temporarily_unavailable instead of accepting the token', async () => {
      await new Promise((resolve) => setTimeout(resolve, 30))
      const res = await get('/stale', `Bearer ${await issue()}`)
      expect(res.status).toBe(503)
      expect(res.body).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'revocation status is unknown: the revocation list could not be refreshed',
        message: 'revocation status is unknown: the revocation list could not be refreshed',
      })
    })
  })

  describe('with the Authorization header sent twice', () => {
    it('responds 400 invalid_request', async () => {
      const { request: httpRequest } = await import('node:http')
      const valid = `Bearer ${await issue()}`
      const status = await new Promise<number>((resolve, reject) => {
        // A raw header list: the typed `headers` object allows one Authorization only.
        const req = httpRequest(`${baseUrl}/open`, { headers: ['Authorization', valid, 'AUTHORIZATION', valid] }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end()
      })
      expect(status).toBe(400)
    })
  })

  describe('called directly, on a token it has verified before', () => {
    /** A request with one Authorization header, and a response that records what was sent. */
    function exchange(token: string) {
      const authorization = `Bearer ${token}`
      const req = { headers: { authorization }, rawHeaders: ['Authorization', authorization] } as unknown as IncomingMessage
      const sent: { status?: number; body?: string } = {}
      const res = {
        statusCode: 200,
        setHeader() {},
        end(body: string) {
          sent.status = res.statusCode
          sent.body = body
        },
      } as unknown as ServerResponse
      const calls: unknown[] = []
      return { req, res, sent, calls, next: (err?: unknown) => calls.push(err) }
    }

    it('admits it before returning, without a promise; a first token is verified asynchronously', async () => {
      const middleware = requireAccessToken({ verify, scopes: ['access:inference-api'] })
      const token = await issue()
      const first = exchange(token)
      const pending = middleware(first.req, first.res, first.next)
      expect(pending).toBeInstanceOf(Promise)
      expect(first.calls).toEqual([])
      await pending
      expect(first.calls).toEqual([undefined])

      const again = exchange(token)
      expect(middleware(again.req, again.res, again.next)).toBeUndefined()
      expect(again.calls).toEqual([undefined])
      expect((again.req as AuthenticatedRequest).auth).toMatchObject({ accountId: ACCOUNT_ID, keyId: 'key_live' })
    })

    it('still refuses a malformed header around it', async () => {
      const middleware = requireAccessToken({ verify })
      const token = await issue()
      const first = exchange(token)
      await middleware(first.req, first.res, first.next)
      expect(first.calls).toEqual([undefined])
      for (const header of [`Bearer  ${token}`, `Bearer ${token}"`, `Bearer ${token},x`, `Basic ${token}`, `Bearer${token}`]) {
        const bad = exchange(token)
        ;(bad.req.headers as Record<string, string>).authorization = header
        bad.req.rawHeaders[1] = header
        expect(middleware(bad.req, bad.res, bad.next), header).toBeUndefined()
        expect(bad.calls, header).toEqual([])
        expect(bad.sent.status, header).toBe(400)
      }
    })

    it('refuses it before returning once it is revoked, or when it lacks a scope', async () => {
      const middleware = requireAccessToken({ verify, scopes: ['access:inference-api'] })
      const strict = requireAccessToken({ verify, scopes: ['admin'] })
      const token = await issue()
      const first = exchange(token)
      await middleware(first.req, first.res, first.next)
      expect(first.calls).toEqual([undefined])

      const unscoped = exchange(token)
      expect(strict(unscoped.req, unscoped.res, unscoped.next)).toBeUndefined()
      expect(unscoped.calls).toEqual([])
      expect(unscoped.sent.status).toBe(403)

      const { jti, exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string; exp: number }
      await store.revocations.revokeToken(jti, exp * 1000, T0)
      await revocations.sync()
      const revoked = exchange(token)
      expect(middleware(revoked.req, revoked.res, revoked.next)).toBeUndefined()
      expect(revoked.calls).toEqual([])
      expect(revoked.sent.status).toBe(401)
      expect(JSON.parse(revoked.sent.body!)).toEqual({ error: 'invalid_token', error_description: 'access token has been revoked', message: 'access token has been revoked' })
    })
  })
})
