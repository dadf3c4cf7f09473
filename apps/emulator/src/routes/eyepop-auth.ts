import type { RevocationFeedBody, Store } from '@eyepop/auth-core'
import { Router } from 'express'
import { bearerCredential } from '../http/bearer.js'
import { refuseBrowserRequests } from '../http/browser-origin.js'
import { InvalidRequest } from '../http/errors.js'
import { jsonObjectBody, limitDeclaredBody } from '../http/json-body.js'
import type { TokenService } from '../services/tokens.js'

/**
 * EyePop's own token routes, both SDK generations:
 * - `POST /authentication/token` with JSON `{"secret_key": "eyp_…"}` (SDK 1.x);
 * - `POST /v1/auth/authenticate` with the key as `Authorization: Bearer` and no body (SDK 3.x).
 *
 * Both answer 200 `{access_token, token_type: "Bearer", expires_in, expires_at, scope}`, and both
 * refuse requests from a browser (403): API keys belong on servers.
 *
 * And the revocation feed, `GET /v1/auth/revocations?cursor=N`: the ids of deleted API keys and of
 * revoked tokens after a cursor, which resource servers in other processes poll (see auth-core's
 * `createRemoteRevocationSource`). Key ids are not secret, like a certificate revocation list.
 */
export function eyepopAuthRoutes(deps: {
  tokens: TokenService
  store: Store
  maxBodyBytes: number
  allowBrowserApiKeys: boolean
}): Router {
  const router = Router()
  const refuseBrowser = refuseBrowserRequests(deps.allowBrowserApiKeys)

  router.post(
    '/authentication/token',
    refuseBrowser,
    ...jsonObjectBody(deps.maxBodyBytes),
    async function legacyToken(req, res) {
      const secretKey: unknown = (req.body as Record<string, unknown>).secret_key
      if (secretKey === undefined || secretKey === null || secretKey === '') {
        throw new InvalidRequest('secret_key must be provided in the JSON body')
      }
      if (typeof secretKey !== 'string') throw new InvalidRequest('secret_key must be a string')
      res.setHeader('Cache-Control', 'no-store')
      res.json(await deps.tokens.exchangeApiKey(secretKey))
    },
  )

  router.post(
    '/v1/auth/authenticate',
    refuseBrowser,
    limitDeclaredBody(deps.maxBodyBytes),
    async function authenticate(req, res) {
      const key = bearerCredential(req)
      res.setHeader('Cache-Control', 'no-store')
      res.json(await deps.tokens.exchangeApiKey(key))
    },
  )

  router.get('/v1/auth/revocations', async function revocationFeed(req, res) {
    const raw = req.query.cursor ?? '0'
    if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) {
      throw new InvalidRequest('cursor must be a non-negative integer')
    }
    const page = await deps.store.revocations.since(Number(raw))
    const body: RevocationFeedBody = {
      revoked: page.revoked.map((r) => ({ key_id: r.id, deleted_at: r.deletedAt })),
      revoked_tokens: (page.revokedTokens ?? []).map((r) => ({
        jti: r.jti,
        revoked_at: r.revokedAt,
        expires_at: r.expiresAt,
      })),
      cursor: page.cursor,
    }
    res.setHeader('Cache-Control', 'no-store')
    res.json(body)
  })

  return router
}
