import { decodeJwt } from 'jose'
import {
  errors,
  isAuthCoreError,
  type AccessTokenClaims,
  type AccessTokenVerifier,
} from '@eyepop/auth-core'
import type { IncomingMessage } from 'node:http'
import { bearerCredential } from '../http/bearer.js'
import { refuseBrowsers } from '../http/guards.js'
import type { RevocationService } from '../services/revocations.js'
import { AccessDenied, InvalidRequest, OAuthError } from '../http/errors.js'
import { sendEmpty, sendJson } from '../http/error-handler.js'
import { defineRoute, type Route } from '../http/route-table.js'
import { isApiKeyCredential, type TemporaryKeySubject, type TokenService } from '../services/tokens.js'

/** The session a server hands to its browser or mobile client (the EyePop SDK's `Session`). */
export interface ClientSessionBody {
  eyepopUrl: string
  accessToken: string
  /** Expiry, in milliseconds since the epoch. */
  validUntil: number
  popId: string
}

/** Why a token is inactive, in an introspection answer. */
type InactiveReason = 'expired' | 'key_deleted' | 'token_revoked' | 'invalid'

function subjectOf(credential: string): TemporaryKeySubject {
  return isApiKeyCredential(credential) ? { apiKey: credential } : { accessToken: credential }
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new InvalidRequest(`${name} must be a string`)
  return value
}

/**
 * `POST /v1/auth/client-sessions`: a server
 * (Bearer: its API key or an access token of it) mints a temporary key for one Pop and gets the
 * session to hand over, `{eyepopUrl, accessToken, validUntil, popId}`. Refused from a browser.
 */
export function clientSessionRoute(deps: {
  tokens: TokenService
  issuer: string
  maxBodyBytes: number
  allowBrowserApiKeys: boolean
}): Route {
  return defineRoute({
    method: 'POST',
    path: '/v1/auth/client-sessions',
    guards: [refuseBrowsers(deps.allowBrowserApiKeys)],
    authorize: bearerCredential,
    body: { kind: 'json', limit: deps.maxBodyBytes },
    async handler(_req, res, { auth: credential, body }) {
      const scope = optionalString(body, 'scope')
      const minted = await deps.tokens.mintTemporaryKey(subjectOf(credential), {
        popId: body.pop_id,
        ttlSeconds: body.ttl_seconds ?? undefined,
        allowedOrigins: body.allowed_origins ?? undefined,
        ...(scope !== undefined && { scopes: scope.split(' ').filter(Boolean) }),
      })
      const session: ClientSessionBody = {
        eyepopUrl: deps.issuer,
        accessToken: minted.accessToken,
        validUntil: minted.expiresAt,
        popId: minted.popId,
      }
      res.setHeader('Cache-Control', 'no-store')
      sendJson(res, 200, session)
    },
  })
}

/**
 * The token lifecycle routes (temporary keys are minted by {@link clientSessionRoute}):
 * - `POST /token/revocation` (RFC 7009): revokes one token; answers 200 whatever the token.
 * - `POST /token/introspection` (RFC 7662): tells an account's server whether one of its tokens is
 *   active, and if not, why (`reason`).
 */
export function temporaryKeyRoutes(deps: {
  tokens: TokenService
  verify: AccessTokenVerifier
  /** Verifies signed-in users' tokens (`manage:keys`), which `POST /token/revocation` revokes too. */
  verifyUser: AccessTokenVerifier
  revocations: RevocationService
  issuer: string
  maxBodyBytes: number
  allowBrowserApiKeys: boolean
}): Route[] {
  /** A token route's form: the token and its hint, nothing large. */
  const form = { kind: 'form', limit: deps.maxBodyBytes, fields: 20 } as const

  function tokenParam(form: Record<string, unknown>): string {
    const token: unknown = form.token
    if (typeof token !== 'string' || token === '') throw new InvalidRequest('token must be provided')
    return token
  }

  /**
   * The claims of a token this emulator issued and that is still good: an API key's token or
   * temporary key, or a signed-in user's token. RFC 7009 §2.2 answers an invalid, expired or
   * already revoked token like a revoked one (`undefined` here); but a token that cannot be checked
   * now (a stale revocation list) is not silently kept: that is a 503 for the client to retry.
   */
  async function revocableClaims(token: string): Promise<AccessTokenClaims | undefined> {
    for (const verify of [deps.verify, deps.verifyUser]) {
      try {
        return (await verify(token)).claims
      } catch (err) {
        if (!isAuthCoreError(err) || err.code === 'ERR_REVOCATION_STALE') throw err
      }
    }
    return undefined
  }

  /** The account whose server calls (Bearer: its API key or an access token of it; not a temporary key). */
  async function callerAccount(req: IncomingMessage): Promise<string> {
    const credential = bearerCredential(req)
    if (isApiKeyCredential(credential)) return (await deps.tokens.authenticateApiKey(credential)).accountId
    const { claims } = await deps.verify(credential)
    if (claims.temporary) throw new AccessDenied('a temporary key cannot introspect tokens')
    return claims.sub
  }

  return [
    defineRoute({
      method: 'POST',
      path: '/token/revocation',
      body: form,
      async handler(_req, res, { body }) {
        const token = tokenParam(body)
        if (isApiKeyCredential(token)) {
          throw new OAuthError(400, 'unsupported_token_type', 'api keys are deleted through key management, not revoked here')
        }
        const claims = await revocableClaims(token)
        if (claims) await deps.revocations.revokeToken(claims.jti, claims.exp * 1000)
        res.setHeader('Cache-Control', 'no-store')
        sendEmpty(res, 200)
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/token/introspection',
      authorize: callerAccount,
      body: form,
      async handler(_req, res, { auth: accountId, body }) {
        const token = tokenParam(body)
        res.setHeader('Cache-Control', 'no-store')
        try {
          const { claims } = await deps.verify(token)
          if (claims.sub !== accountId) {
            sendJson(res, 200, { active: false, reason: 'invalid' })
            return
          }
          sendJson(res, 200, { active: true, token_type: 'Bearer', ...claims })
        } catch (err) {
          if (!isAuthCoreError(err)) throw err
          let reason: InactiveReason = 'invalid'
          // Expiry and revocation are only found after the signature verified, so the claims are ours.
          if (err.code === 'ERR_TOKEN_EXPIRED') reason = 'expired'
          if (err instanceof errors.TokenRevoked) reason = err.reason
          if (reason !== 'invalid' && decodeJwt(token).sub !== accountId) reason = 'invalid'
          sendJson(res, 200, { active: false, reason })
        }
      },
    }),
  ]
}
