import { isAuthCoreError } from '@eyepop/auth-core'
import { errors, type KoaContextWithOIDC } from 'oidc-provider'
import { toOAuthError } from '../http/error-handler.js'
import { OAuthError } from '../http/errors.js'
import { DomainError } from '../services/errors.js'
import type { TokenService } from '../services/tokens.js'

/** The RFC 8693 grant type. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** The subject token type of an EyePop API key. */
export const API_KEY_TOKEN_TYPE = 'urn:eyepop:params:oauth:token-type:api-key'
/** The RFC 8693 token type of an access token. */
export const ACCESS_TOKEN_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
/** The token type of a temporary key: a Pop-bound, short-lived access token for a browser. */
export const TEMPORARY_KEY_TOKEN_TYPE = 'urn:eyepop:params:oauth:token-type:temporary-key'
/** The `resource` of one Pop: `urn:eyepop:pop:{popId}`. */
export const POP_RESOURCE_PREFIX = 'urn:eyepop:pop:'

/**
 * The parameters the grant reads: RFC 8693 §2.1, plus `requested_expires_in` (the lifetime in
 * seconds of a temporary key) and `allowed_origins` (space-separated browser origins).
 */
export const TOKEN_EXCHANGE_PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'scope',
  'resource',
  'audience',
  'actor_token',
  'actor_token_type',
  'requested_expires_in',
  'allowed_origins',
]

function single(ctx: KoaContextWithOIDC, name: string): string | undefined {
  const value = (ctx.oidc.params as Record<string, unknown> | undefined)?.[name]
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string') throw new errors.InvalidRequest(`${name} must be a single value`)
  return value
}

function words(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(' ').filter(Boolean)
}

/** The emulator's errors and auth-core's, as oidc-provider errors (the token endpoint's format). */
function toProviderError(err: unknown): unknown {
  if (isAuthCoreError(err)) return new errors.InvalidRequest(`subject_token is invalid: ${err.message}`)
  // The services' refusals, answered as on every other route, in oidc-provider's format.
  const answer = err instanceof OAuthError || err instanceof DomainError ? toOAuthError(err) : undefined
  if (answer?.expose) {
    if (answer.error === 'invalid_request') return new errors.InvalidRequest(answer.message)
    return new errors.CustomOIDCProviderError(answer.error, answer.message)
  }
  return err
}

/**
 * The RFC 8693 token exchange grant, for the public client `eyepop-sdk`. Two exchanges:
 * - an API key (`subject_token_type = urn:eyepop:params:oauth:token-type:api-key`) for an access
 *   token of the same kind the EyePop routes issue (`requested_token_type` absent or
 *   `…:access_token`; `resource`/`audience`, if given, the configured audience);
 * - an API key or a server access token for a temporary key (`requested_token_type =
 *   urn:eyepop:params:oauth:token-type:temporary-key`, `resource = urn:eyepop:pop:{popId}`,
 *   optional `requested_expires_in` and `allowed_origins`).
 *
 * It checks: the subject and its type are present and supported; no `actor_token` (no
 * delegation); an API key does not come from a browser; `scope` is a subset of the subject's (never
 * an escalation); an access token is only exchanged for a temporary key (never for a longer-lived
 * token), and never when it is itself a temporary key. Per RFC 8693 §2.2.2 an unacceptable subject
 * token is `invalid_request`.
 */
export function tokenExchangeHandler(deps: {
  tokens: TokenService
  audience: string
  allowBrowserApiKeys: boolean
}) {
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const subjectToken = single(ctx, 'subject_token')
    const subjectTokenType = single(ctx, 'subject_token_type')
    if (!subjectToken) throw new errors.InvalidRequest('subject_token must be provided')
    if (!subjectTokenType) throw new errors.InvalidRequest('subject_token_type must be provided')
    if (subjectTokenType !== API_KEY_TOKEN_TYPE && subjectTokenType !== ACCESS_TOKEN_TOKEN_TYPE) {
      throw new errors.InvalidRequest(
        `subject_token_type must be ${API_KEY_TOKEN_TYPE} or ${ACCESS_TOKEN_TOKEN_TYPE}`,
      )
    }
    if (single(ctx, 'actor_token') !== undefined || single(ctx, 'actor_token_type') !== undefined) {
      throw new errors.InvalidRequest('actor_token is not supported')
    }
    if (subjectTokenType === API_KEY_TOKEN_TYPE && !deps.allowBrowserApiKeys && ctx.get('origin')) {
      throw new errors.AccessDenied(
        'api keys belong on servers: this request came from a browser; mint a temporary key on your server and hand it to the browser instead',
      )
    }
    const requested = single(ctx, 'requested_token_type') ?? ACCESS_TOKEN_TOKEN_TYPE
    const scopes = words(single(ctx, 'scope'))
    if (scopes !== undefined && scopes.length === 0) {
      throw new errors.CustomOIDCProviderError('invalid_scope', 'scope must not be empty')
    }
    // Sent but empty (or only spaces) would bind a temporary key to no origin: read as "any".
    // oidc-provider's params drop empty values: the raw body says whether it was sent.
    const rawOrigins = (ctx.oidc.body as Record<string, unknown> | undefined)?.allowed_origins
    const origins = rawOrigins === undefined ? undefined : words(typeof rawOrigins === 'string' ? rawOrigins : single(ctx, 'allowed_origins') ?? '')
    if (origins !== undefined && origins.length === 0) {
      throw new errors.InvalidRequest('allowed_origins must name at least one origin; leave it out to allow any')
    }

    try {
      if (requested === TEMPORARY_KEY_TOKEN_TYPE) {
        const resource = single(ctx, 'resource')
        if (!resource?.startsWith(POP_RESOURCE_PREFIX)) {
          throw new errors.InvalidTarget(`resource must be ${POP_RESOURCE_PREFIX}{popId} for a temporary key`)
        }
        const lifetime = single(ctx, 'requested_expires_in')
        if (lifetime !== undefined && !/^\d{1,6}$/.test(lifetime)) {
          throw new errors.InvalidRequest('requested_expires_in must be a whole number of seconds')
        }
        const minted = await deps.tokens.mintTemporaryKey(
          subjectTokenType === API_KEY_TOKEN_TYPE ? { apiKey: subjectToken } : { accessToken: subjectToken },
          {
            popId: resource.slice(POP_RESOURCE_PREFIX.length),
            ...(lifetime !== undefined && { ttlSeconds: Number(lifetime) }),
            ...(scopes && { scopes }),
            ...(origins !== undefined && { allowedOrigins: origins }),
          },
        )
        ctx.body = {
          access_token: minted.accessToken,
          issued_token_type: TEMPORARY_KEY_TOKEN_TYPE,
          token_type: 'Bearer',
          expires_in: minted.expiresIn,
          expires_at: new Date(minted.expiresAt).toISOString(),
          scope: minted.scope,
        }
        return
      }
      if (requested !== ACCESS_TOKEN_TOKEN_TYPE) {
        throw new errors.InvalidRequest(
          `requested_token_type must be ${ACCESS_TOKEN_TOKEN_TYPE} or ${TEMPORARY_KEY_TOKEN_TYPE}`,
        )
      }
      if (subjectTokenType !== API_KEY_TOKEN_TYPE) {
        throw new errors.InvalidRequest('an access token can only be exchanged for a temporary key')
      }
      for (const name of ['resource', 'audience']) {
        const target = single(ctx, name)
        if (target !== undefined && target !== deps.audience) {
          throw new errors.InvalidTarget(`${name} must be ${deps.audience}`)
        }
      }
      const body = await deps.tokens.exchangeApiKey(subjectToken, scopes ? { scopes } : {})
      ctx.body = { ...body, issued_token_type: ACCESS_TOKEN_TOKEN_TYPE }
    } catch (err) {
      throw toProviderError(err)
    }
  }
}
