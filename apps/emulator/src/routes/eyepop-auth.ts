import { REVOCATION_PAGE_LIMIT, type RevocationFeedBody } from '@eyepop/auth-core'
import { bearerCredential } from '../http/bearer.js'
import { sendJson } from '../http/error-handler.js'
import { InvalidRequest } from '../http/errors.js'
import { refuseBrowsers } from '../http/guards.js'
import { queryOf } from '../http/query.js'
import { defineRoute, type Route } from '../http/route-table.js'
import type { RevocationService } from '../services/revocations.js'
import type { TokenService } from '../services/tokens.js'

/**
 * EyePop's own token routes, both SDK generations:
 * - `POST /authentication/token` with JSON `{"secret_key": "eyp_…"}` (SDK 1.x);
 * - `POST /v1/auth/authenticate` with the key as `Authorization: Bearer` and no body (SDK 3.x).
 *
 * Both answer 200 `{access_token, token_type: "Bearer", expires_in, expires_at, scope}`, and both
 * refuse requests from a browser (403): API keys belong on servers.
 */
export function eyepopTokenRoutes(deps: {
  tokens: TokenService
  maxBodyBytes: number
  allowBrowserApiKeys: boolean
}): Route[] {
  const { tokens, maxBodyBytes, allowBrowserApiKeys } = deps
  const guards = [refuseBrowsers(allowBrowserApiKeys)]
  return [
    defineRoute({
      method: 'POST',
      path: '/authentication/token',
      guards,
      body: { kind: 'json', limit: maxBodyBytes },
      async handler(_req, res, { body }) {
        const secretKey: unknown = body.secret_key
        if (secretKey === undefined || secretKey === null || secretKey === '') {
          throw new InvalidRequest('secret_key must be provided in the JSON body')
        }
        if (typeof secretKey !== 'string') throw new InvalidRequest('secret_key must be a string')
        const answer = await tokens.exchangeApiKey(secretKey)
        res.setHeader('Cache-Control', 'no-store')
        sendJson(res, 200, answer)
      },
    }),
    // The body is none, but an oversized one is refused rather than silently accepted.
    defineRoute({
      method: 'POST',
      path: '/v1/auth/authenticate',
      guards,
      authorize: bearerCredential,
      body: { kind: 'none', limit: maxBodyBytes },
      async handler(_req, res, { auth: credential }) {
        const answer = await tokens.exchangeApiKey(credential)
        res.setHeader('Cache-Control', 'no-store')
        sendJson(res, 200, answer)
      },
    }),
  ]
}

/**
 * The revocation feed, `GET /v1/auth/revocations?cursor=N`: the ids of deleted API keys and of
 * revoked tokens after a cursor, which resource servers in other processes poll (see auth-core's
 * `createRemoteRevocationSource`). Key ids are not secret, like a certificate revocation list.
 * Pages of at most `limit` (default and most: 1,000) entries; `has_more` says to ask again.
 */
export function revocationFeedRoutes(deps: { revocations: RevocationService }): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/auth/revocations',
      async handler(req, res) {
        const query = queryOf(req)
        const cursor = query.cursor ?? '0'
        if (typeof cursor !== 'string' || !/^\d{1,15}$/.test(cursor)) {
          throw new InvalidRequest('cursor must be a non-negative integer')
        }
        const limit = query.limit ?? String(REVOCATION_PAGE_LIMIT)
        if (typeof limit !== 'string' || !/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > REVOCATION_PAGE_LIMIT) {
          throw new InvalidRequest(`limit must be an integer from 1 to ${REVOCATION_PAGE_LIMIT}`)
        }
        const page = await deps.revocations.page(Number(cursor), Number(limit))
        const body: RevocationFeedBody = {
          revoked: page.revoked.map((r) => ({ key_id: r.id, deleted_at: r.deletedAt })),
          revoked_tokens: (page.revokedTokens ?? []).map((r) => ({
            jti: r.jti,
            revoked_at: r.revokedAt,
            expires_at: r.expiresAt,
          })),
          cursor: page.cursor,
          has_more: page.more === true,
        }
        res.setHeader('Cache-Control', 'no-store')
        sendJson(res, 200, body)
      },
    },
  ]
}
