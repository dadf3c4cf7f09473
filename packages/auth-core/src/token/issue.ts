import { newTokenId } from '../lib/ids.js'
import { epochSeconds, type Clock } from '../lib/time.js'
import type { AccessTokenClaims } from './claims.js'
import { signAccessToken } from './jws.js'
import type { Keyring } from './keyring.js'

/** Options of {@link issueAccessToken}. */
export interface IssueAccessTokenOptions {
  /** The issuer's keys; the current signing key signs. */
  keyring: Keyring
  /** `iss`. */
  issuer: string
  /** `aud`. */
  audience: string | string[]
  /** `sub`: the account id. */
  subject: string
  /** The id of the API key the token derives from. */
  keyId: string
  /** The OAuth client the token is issued to. */
  clientId: string
  /** Scopes. */
  scopes: readonly string[]
  /** Lifetime (in seconds). */
  ttlSeconds: number
  /** The token never outlives this time (ms), e.g. its API key's expiry. Default: no cap. */
  notAfter?: number | null
  /** Issue a temporary key bound to this Pop (for a browser or mobile client). */
  temporary?: { popId: string; allowedOrigins?: readonly string[] }
  /** Clock (ms). Default is `Date.now`. */
  now?: Clock
}

/** An issued access token. */
export interface IssueAccessTokenResult {
  /** The compact JWT. Secret. */
  readonly accessToken: string
  /** Lifetime from now (in seconds). */
  readonly expiresIn: number
  /** Expiry (ms). */
  readonly expiresAt: number
  /** The token's claims. */
  readonly claims: AccessTokenClaims
}

/**
 * Issues an access token: a JWT (`typ: at+jwt`) signed with the keyring's current key, carrying
 * `iss`, `sub`, `aud`, `iat`, `exp`, `jti`, `scope`, `client_id` and `key_id`.
 *
 * @example
 * ```ts
 * const { accessToken, expiresIn } = await issueAccessToken({ keyring, issuer, audience,
 *   subject: account.id, keyId: key.id, clientId: 'eyepop-sdk', scopes: ['access:inference-api'],
 *   ttlSeconds: 3600 })
 * ```
 */
export async function issueAccessToken(options: IssueAccessTokenOptions): Promise<IssueAccessTokenResult> {
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new TypeError('"ttlSeconds" option must be a positive integer')
  }
  const nowMs = (options.now ?? Date.now)()
  const iat = epochSeconds(nowMs)
  let exp = iat + options.ttlSeconds
  if (options.notAfter != null) exp = Math.min(exp, epochSeconds(options.notAfter))
  const claims: AccessTokenClaims = {
    iss: options.issuer,
    sub: options.subject,
    aud: options.audience,
    iat,
    exp,
    jti: newTokenId(),
    scope: options.scopes.join(' '),
    client_id: options.clientId,
    key_id: options.keyId,
    ...(options.temporary && {
      temporary: true,
      pop_id: options.temporary.popId,
      ...(options.temporary.allowedOrigins?.length && {
        allowed_origins: [...options.temporary.allowedOrigins],
      }),
    }),
  }
  // Signed natively and synchronously (see signAccessToken): no WebCrypto job per token.
  const accessToken = signAccessToken(claims as unknown as Record<string, unknown>, options.keyring.signingKey)
  return { accessToken, expiresIn: Math.max(0, exp - iat), expiresAt: exp * 1000, claims }
}
