import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey, type KeyObject } from 'jose'
import { RevocationStale, TokenClaimInvalid, TokenExpired, TokenInvalid, TokenRevoked } from '../errors.js'
import { epochSeconds, type Clock } from '../lib/time.js'
import { ACCESS_TOKEN_TYPE, type AccessTokenClaims } from './claims.js'
import type { Keyring } from './keyring.js'
import type { RevocationList } from './revocation-list.js'

/** Where verification keys come from: a keyring in process, or a jose key getter (remote JWKS). */
export type VerificationKeySource = Keyring | JWTVerifyGetKey

/** Options of {@link createAccessTokenVerifier}. */
export interface AccessTokenVerifierOptions {
  /** The expected `iss`. */
  issuer: string
  /** The expected `aud` (one of). */
  audience: string | string[]
  /**
   * The keys: a {@link Keyring} in process, or `createRemoteJWKSet(new URL(jwksUri))` from jose for
   * a remote issuer (fetched once, cached, refreshed on an unknown `kid`).
   */
  keys: VerificationKeySource
  /** Deleted API keys; a token whose `key_id` is listed is refused. Default: no revocation check. */
  revocations?: RevocationList
  /**
   * How old (in milliseconds) the revocation list may be before tokens are refused with
   * `ERR_REVOCATION_STALE` (its source is unreachable: fail closed). Default is 5000.
   */
  revocationMaxAgeMs?: number
  /** Accepted algorithms. Default is `['EdDSA', 'ES256']`; `none` and HMAC are never accepted. */
  algorithms?: Array<'EdDSA' | 'ES256'>
  /**
   * Which tokens are accepted: `'api-key'` (derived from an API key: `key_id` required), `'user'`
   * (a signed-in user's token: no `key_id`) or `'any'`. Default is `'api-key'`.
   */
  subject?: 'api-key' | 'user' | 'any'
  /** Allowed clock skew (in seconds) for `exp`, `nbf` and `iat`. Default is 5. */
  clockToleranceSeconds?: number
  /** Clock (ms). Default is `Date.now`. */
  now?: Clock
}

/** A verified access token. */
export interface VerifiedAccessToken {
  /** The verified claims. */
  readonly claims: AccessTokenClaims
  /** The scopes, split. */
  readonly scopes: readonly string[]
}

/** Verifies access tokens. */
export type AccessTokenVerifier = (token: string) => Promise<VerifiedAccessToken>

function isKeyring(source: VerificationKeySource): source is Keyring {
  return typeof source === 'object' && source !== null && 'verificationKey' in source
}

function keyGetter(source: VerificationKeySource): JWTVerifyGetKey {
  if (!isKeyring(source)) return source
  return (header): KeyObject => {
    const key = header.kid === undefined ? undefined : source.verificationKey(header.kid)
    if (!key || key.alg !== header.alg) {
      throw new joseErrors.JWKSNoMatchingKey('no applicable key found in the JSON Web Key Set')
    }
    return key.key
  }
}

/** Maps jose's errors to auth-core's. The token itself never appears in a message. */
function toAuthCoreError(err: unknown): Error {
  if (err instanceof joseErrors.JWTExpired) return new TokenExpired('access token has expired', { cause: err })
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return new TokenClaimInvalid(`access token "${err.claim}" claim is invalid`, err.claim, { cause: err })
  }
  if (err instanceof joseErrors.JOSEError) {
    return new TokenInvalid('access token is malformed or its signature does not verify', { cause: err })
  }
  return err as Error
}

/** A temporary key must name its Pop; its origins, when present, must be strings. */
function checkTemporaryClaims(payload: Record<string, unknown>): void {
  if (payload.temporary === undefined) {
    if (payload.pop_id !== undefined || payload.allowed_origins !== undefined) {
      throw new TokenClaimInvalid('access token "temporary" claim is missing', 'temporary')
    }
    return
  }
  if (payload.temporary !== true) throw new TokenClaimInvalid('access token "temporary" claim is invalid', 'temporary')
  if (typeof payload.pop_id !== 'string' || payload.pop_id === '') {
    throw new TokenClaimInvalid('access token "pop_id" claim is invalid', 'pop_id')
  }
  const origins = payload.allowed_origins
  if (origins !== undefined && !(Array.isArray(origins) && origins.every((o) => typeof o === 'string'))) {
    throw new TokenClaimInvalid('access token "allowed_origins" claim is invalid', 'allowed_origins')
  }
}

const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'] as const

/**
 * Creates a verifier of access tokens for a resource server. It checks, in order:
 * - the JWS: compact form, an allowed `alg` (never `none`), a known `kid`, a valid signature;
 * - `typ` is `at+jwt`;
 * - `iss` and `aud` match, `exp` is in the future and `nbf`/`iat` not in it (with tolerance);
 * - the required claims are present (`sub`, `jti`, `key_id`, …);
 * - the API key the token derives from was not deleted, and the token itself was not revoked
 *   (from the in-memory revocation list, which must be fresh: a stale one fails closed);
 * - a temporary key names its Pop (`pop_id`) and its `allowed_origins` are strings.
 *
 * @example
 * ```ts
 * const verify = createAccessTokenVerifier({ issuer, audience, keys: keyring, revocations })
 * const { claims } = await verify(bearer)
 * ```
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const getKey = keyGetter(options.keys)
  const algorithms = options.algorithms ?? ['EdDSA', 'ES256']
  const now = options.now
  const clockTolerance = options.clockToleranceSeconds ?? 5
  const { revocations } = options
  const subject = options.subject ?? 'api-key'
  const revocationMaxAgeMs = options.revocationMaxAgeMs ?? 5000

  return async function verifyAccessToken(token) {
    if (typeof token !== 'string' || token.length === 0) {
      throw new TokenInvalid('access token must be a non-empty string')
    }
    let payload: Record<string, unknown>
    try {
      const result = await jwtVerify(token, getKey, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance,
        requiredClaims: subject === 'api-key' ? [...REQUIRED_CLAIMS, 'key_id'] : [...REQUIRED_CLAIMS],
        ...(now ? { currentDate: new Date(now()) } : {}),
      })
      payload = result.payload
    } catch (err) {
      throw toAuthCoreError(err)
    }
    if (typeof payload.sub !== 'string') throw new TokenClaimInvalid('access token "sub" claim is invalid', 'sub')
    if (payload.key_id !== undefined && typeof payload.key_id !== 'string') {
      throw new TokenClaimInvalid('access token "key_id" claim is invalid', 'key_id')
    }
    if (subject === 'user' && payload.key_id !== undefined) {
      throw new TokenClaimInvalid('access token must be a signed-in user token, not one derived from an api key', 'key_id')
    }
    if (typeof payload.iat === 'number' && payload.iat > epochSeconds((now ?? Date.now)()) + clockTolerance) {
      throw new TokenClaimInvalid('access token "iat" claim is in the future', 'iat')
    }
    if (revocations && revocations.ageMs > revocationMaxAgeMs) {
      throw new RevocationStale('revocation status is unknown: the revocation list could not be refreshed')
    }
    if (typeof payload.key_id === 'string' && revocations?.isRevoked(payload.key_id)) {
      throw new TokenRevoked('access token was derived from an api key that has been deleted', 'key_deleted')
    }
    if (typeof payload.jti !== 'string') throw new TokenClaimInvalid('access token "jti" claim is invalid', 'jti')
    if (revocations?.isTokenRevoked(payload.jti)) throw new TokenRevoked('access token has been revoked', 'token_revoked')
    checkTemporaryClaims(payload)
    const claims = payload as unknown as AccessTokenClaims
    const scopes = typeof claims.scope === 'string' && claims.scope ? claims.scope.split(' ') : []
    return { claims, scopes }
  }
}
