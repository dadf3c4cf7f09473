import { DEFAULT_API_KEY_SCOPES, isAuthCoreError } from '@eyepop/auth-core'
import { errors, type KoaContextWithOIDC } from 'oidc-provider'
import type { TokenService } from '../services/tokens.js'

/** The RFC 8693 grant type. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** The subject token type of an EyePop API key. */
export const API_KEY_TOKEN_TYPE = 'urn:eyepop:params:oauth:token-type:api-key'
/** The RFC 8693 token type of an access token. */
export const ACCESS_TOKEN_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

/** The parameters the grant reads (RFC 8693 §2.1). */
export const TOKEN_EXCHANGE_PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'scope',
  'resource',
  'audience',
  'actor_token',
  'actor_token_type',
]

function single(ctx: KoaContextWithOIDC, name: string): string | undefined {
  const value = (ctx.oidc.params as Record<string, unknown> | undefined)?.[name]
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string') throw new errors.InvalidRequest(`${name} must be a single value`)
  return value
}

/**
 * The RFC 8693 token exchange grant: an API key (`subject_token_type =
 * urn:eyepop:params:oauth:token-type:api-key`) for an access token of the same kind the EyePop
 * routes issue. It checks:
 * - `subject_token` and `subject_token_type` are present, and the type is the API-key type;
 * - `requested_token_type`, if given, is the access-token type;
 * - `actor_token` is not used (no delegation here);
 * - `resource`/`audience`, if given, is the configured audience (no other resource exists);
 * - `scope`, if given, is a subset of the key's scopes (never an escalation);
 * - the key verifies (format, checksum, known, not deleted, not expired).
 *
 * Per RFC 8693 §2.2.2 an unacceptable subject token is `invalid_request`.
 */
export function tokenExchangeHandler(deps: { tokens: TokenService; audience: string }) {
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const subjectToken = single(ctx, 'subject_token')
    const subjectTokenType = single(ctx, 'subject_token_type')
    if (!subjectToken) throw new errors.InvalidRequest('subject_token must be provided')
    if (!subjectTokenType) throw new errors.InvalidRequest('subject_token_type must be provided')
    if (subjectTokenType !== API_KEY_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${API_KEY_TOKEN_TYPE}`)
    }
    const requested = single(ctx, 'requested_token_type')
    if (requested !== undefined && requested !== ACCESS_TOKEN_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TOKEN_TYPE}`)
    }
    if (single(ctx, 'actor_token') !== undefined || single(ctx, 'actor_token_type') !== undefined) {
      throw new errors.InvalidRequest('actor_token is not supported')
    }
    for (const name of ['resource', 'audience']) {
      const target = single(ctx, name)
      if (target !== undefined && target !== deps.audience) {
        throw new errors.InvalidTarget(`${name} must be ${deps.audience}`)
      }
    }
    const scope = single(ctx, 'scope')
    let scopes: string[] | undefined
    if (scope !== undefined) {
      scopes = [...new Set(scope.split(' ').filter(Boolean))]
      const allowed = new Set<string>(DEFAULT_API_KEY_SCOPES)
      if (scopes.length === 0 || scopes.some((s) => !allowed.has(s))) {
        throw new errors.InvalidScope('requested scope is not granted to api keys', scope)
      }
    }
    try {
      const body = await deps.tokens.exchangeApiKey(subjectToken, scopes ? { scopes } : {})
      ctx.body = { ...body, issued_token_type: ACCESS_TOKEN_TOKEN_TYPE }
    } catch (err) {
      if (isAuthCoreError(err)) throw new errors.InvalidRequest(`subject_token is invalid: ${err.message}`)
      throw err
    }
  }
}
