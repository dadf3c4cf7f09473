import type { JWTVerifyGetKey, KeyObject } from 'jose'
import { RevocationStale, TokenClaimInvalid, TokenExpired, TokenInvalid, TokenRevoked } from '../errors.js'
import { loadJose, type Jose } from '../lib/jose.js'
import { epochSeconds, type Clock } from '../lib/time.js'
import { ACCESS_TOKEN_TYPE, type AccessTokenClaims } from './claims.js'
import type { Keyring } from './keyring.js'
import type { RevocationList } from './revocation-list.js'

/** Where verification keys come from: a keyring in process, or a jose key getter (remote JWKS). */
export type VerificationKeySource = Keyring | JWTVerifyGetKey

/**
 * Whether `token` is a JWS in canonical compact form (RFC 7515 §7.1): three non-empty base64url
 * parts without padding, each exactly the encoding of the bytes it decodes to. base64url decoders
 * forgive padding and stray low bits, so one token could otherwise be presented in many spellings
 * (`…==`, a last character with other unused bits), each a different string to a cache or a
 * denylist.
 */
function isCanonicalCompact(token: string): boolean {
  const parts = token.split('.')
  if (parts.length !== 3) return false
  for (const part of parts) {
    if (!BASE64URL_RE.test(part)) return false
    if (Buffer.from(part, 'base64url').toString('base64url') !== part) return false
  }
  return true
}

const BASE64URL_RE = /^[A-Za-z0-9_-]+$/

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
  /**
   * The cache of verified tokens: clients reuse a token until it nears expiry, so its signature
   * and its fixed claims are checked once. A cached token is still refused once it expires, once
   * its signing key is no longer trusted (keyring) and once it or its API key is revoked: those
   * checks run on every call. `maxEntries` bounds the memory (oldest out first; default 10,000),
   * `maxAgeMs` how long a token is trusted without re-checking its signature (default 60,000: a
   * key removed from a remote JWKS stops verifying within that time, as jose's own JWKS cache
   * does), `idleMs` how long a token nobody presents stays (default 10,000: a client that stopped
   * using a token, or used it once, costs no memory after that; entries are swept as new tokens
   * are remembered, at most once per second). `false` turns the cache off.
   */
  cache?: false | { maxEntries?: number; maxAgeMs?: number; idleMs?: number }
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
export interface AccessTokenVerifier {
  (token: string): Promise<VerifiedAccessToken>
  /**
   * The token's verification, synchronously, if it is in the cache of verified tokens (with the
   * checks of time and revocation run again, which throw as the verifier does); `undefined` if it
   * is not: call the verifier. Lets a middleware answer a reused token without waiting.
   */
  cached?(token: string): VerifiedAccessToken | undefined
  /** How many tokens the cache of verified tokens holds now (0 with `cache: false`). */
  readonly cacheSize?: number
}

function isKeyring(source: VerificationKeySource): source is Keyring {
  return typeof source === 'object' && source !== null && 'verificationKey' in source
}

/** How often (in milliseconds) at most a keyring is re-read for a `kid` it does not know. */
const KEYRING_RELOAD_INTERVAL_MS = 1000

/**
 * The key of a token's header from a keyring. A `kid` the keyring does not know may be a key that
 * another process sharing the store created (a second instance started at the same moment, or
 * one that rotated): the keyring is re-read from the store, at most once a second whatever the
 * tokens ask, then asked again.
 */
function keyGetter(source: VerificationKeySource, jose: Jose): JWTVerifyGetKey {
  if (!isKeyring(source)) return source
  let lastReload = 0
  const keyOf = (key: ReturnType<Keyring['verificationKey']>, alg: string | undefined): KeyObject => {
    if (!key || key.alg !== alg) throw new jose.errors.JWKSNoMatchingKey('no applicable key found in the JSON Web Key Set')
    return key.key
  }
  return ({ kid, alg }): KeyObject | Promise<KeyObject> => {
    const key = kid === undefined ? undefined : source.verificationKey(kid)
    if (key || kid === undefined || Date.now() - lastReload < KEYRING_RELOAD_INTERVAL_MS) return keyOf(key, alg)
    lastReload = Date.now()
    return source.reload().then(() => keyOf(source.verificationKey(kid), alg))
  }
}

/** Maps jose's errors to auth-core's. The token itself never appears in a message. */
function toAuthCoreError(err: unknown, jose: Jose): Error {
  const joseErrors = jose.errors
  if (err instanceof joseErrors.JWTExpired) return new TokenExpired('access token has expired', { cause: err })
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return new TokenClaimInvalid(`access token "${err.claim}" claim is invalid`, err.claim, { cause: err })
  }
  if (err instanceof joseErrors.JOSEError) {
    return new TokenInvalid('access token is malformed or its signature does not verify', { cause: err })
  }
  return err as Error
}

/** A token whose signature and fixed claims were verified. */
interface CachedToken {
  /** The whole token: a lookup is a hit only when it is the same. */
  readonly token: string
  readonly verified: VerifiedAccessToken
  readonly kid: string | undefined
  /** When the signature must be checked again (ms). */
  readonly recheckAt: number
  /** When the token was last presented (ms). */
  usedAt: number
}

/**
 * How many of a token's last characters (its signature's) key the cache. A lookup hashes the
 * string it is given, and a token from a request is a new string every time: hashing 22 characters
 * instead of the whole token (≈ 450) saves most of a cached verification. The entry holds the
 * whole token, compared in full, so a token that shares its last characters with another is a miss.
 */
const CACHE_KEY_CHARS = 22

function cacheKeyOf(token: string): string {
  return token.length > CACHE_KEY_CHARS ? token.slice(-CACHE_KEY_CHARS) : token
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
  // jose is loaded in the background from here on; the first verification waits for it. A
  // failure to load surfaces there, not as an unhandled rejection here.
  loadJose().catch(() => undefined)
  let getKey: JWTVerifyGetKey | undefined
  const algorithms = options.algorithms ?? ['EdDSA', 'ES256']
  const now = options.now
  const clockTolerance = options.clockToleranceSeconds ?? 5
  const { revocations } = options
  const subject = options.subject ?? 'api-key'
  const revocationMaxAgeMs = options.revocationMaxAgeMs ?? 5000

  const keyring = isKeyring(options.keys) ? options.keys : undefined
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {})
  const cacheMaxEntries = cacheOptions?.maxEntries ?? 10_000
  const cacheMaxAgeMs = cacheOptions?.maxAgeMs ?? 60_000
  const cacheIdleMs = cacheOptions?.idleMs ?? 10_000
  const cache = new Map<string, CachedToken>()
  /** When the cache is next swept of tokens past their recheck or idle time (ms). */
  let sweepAt = 0
  const clock = now ?? Date.now

  /** The checks that depend on time and revocation: they run on every call, cached or not. */
  function checkCurrent(claims: AccessTokenClaims, nowMs: number): void {
    const nowS = epochSeconds(nowMs)
    // As jose: expired once `exp` is at or before now, less the tolerance.
    if (claims.exp <= nowS - clockTolerance) throw new TokenExpired('access token has expired')
    if (claims.iat > nowS + clockTolerance) {
      throw new TokenClaimInvalid('access token "iat" claim is in the future', 'iat')
    }
    if (revocations && revocations.ageMs > revocationMaxAgeMs) {
      throw new RevocationStale('revocation status is unknown: the revocation list could not be refreshed')
    }
    if (typeof claims.key_id === 'string' && revocations?.isRevoked(claims.key_id)) {
      throw new TokenRevoked('access token was derived from an api key that has been deleted', 'key_deleted')
    }
    if (revocations?.isTokenRevoked(claims.jti)) throw new TokenRevoked('access token has been revoked', 'token_revoked')
  }

  function cached(token: string, nowMs: number): VerifiedAccessToken | undefined {
    const key = cacheKeyOf(token)
    const entry = cache.get(key)
    if (entry === undefined || entry.token !== token) return undefined
    if (
      nowMs >= entry.recheckAt ||
      nowMs - entry.usedAt >= cacheIdleMs ||
      (keyring && (entry.kid === undefined || !keyring.verificationKey(entry.kid)))
    ) {
      cache.delete(key)
      return undefined
    }
    entry.usedAt = nowMs
    try {
      checkCurrent(entry.verified.claims, nowMs)
    } catch (err) {
      // An expired token never becomes valid again; a revoked one neither.
      if (!(err instanceof RevocationStale)) cache.delete(key)
      throw err
    }
    return entry.verified
  }

  /** Drops the tokens past their recheck time or unused for `idleMs`: one pass, at most once a second. */
  function sweep(nowMs: number): void {
    sweepAt = nowMs + Math.min(cacheIdleMs, 1000)
    for (const [key, entry] of cache) {
      if (nowMs >= entry.recheckAt || nowMs - entry.usedAt >= cacheIdleMs) cache.delete(key)
    }
  }

  function remember(token: string, verified: VerifiedAccessToken, kid: string | undefined, nowMs: number): void {
    if (!cacheOptions) return
    if (nowMs >= sweepAt) sweep(nowMs)
    if (cache.size >= cacheMaxEntries) {
      // Maps iterate in insertion order: the oldest entry goes first.
      const oldest = cache.keys().next()
      if (!oldest.done) cache.delete(oldest.value)
    }
    cache.set(cacheKeyOf(token), {
      token,
      verified,
      kid,
      recheckAt: Math.min(nowMs + cacheMaxAgeMs, verified.claims.exp * 1000),
      usedAt: nowMs,
    })
  }

  async function verifyAccessToken(token: string): Promise<VerifiedAccessToken> {
    if (typeof token !== 'string' || token.length === 0) {
      throw new TokenInvalid('access token must be a non-empty string')
    }
    const hit = cacheOptions ? cached(token, clock()) : undefined
    if (hit) return hit
    if (!isCanonicalCompact(token)) {
      throw new TokenInvalid('access token is malformed: not a JWS in canonical compact form')
    }
    let payload: Record<string, unknown>
    let kid: string | undefined
    const jose = await loadJose()
    getKey ??= keyGetter(options.keys, jose)
    try {
      const result = await jose.jwtVerify(token, getKey, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance,
        requiredClaims: subject === 'api-key' ? [...REQUIRED_CLAIMS, 'key_id'] : [...REQUIRED_CLAIMS],
        // Read after the keys are at hand (a remote JWKS may be fetched first).
        ...(now ? { currentDate: new Date(now()) } : {}),
      })
      payload = result.payload
      kid = result.protectedHeader.kid
    } catch (err) {
      throw toAuthCoreError(err, jose)
    }
    if (typeof payload.sub !== 'string') throw new TokenClaimInvalid('access token "sub" claim is invalid', 'sub')
    if (payload.key_id !== undefined && typeof payload.key_id !== 'string') {
      throw new TokenClaimInvalid('access token "key_id" claim is invalid', 'key_id')
    }
    if (subject === 'user' && payload.key_id !== undefined) {
      throw new TokenClaimInvalid('access token must be a signed-in user token, not one derived from an api key', 'key_id')
    }
    if (typeof payload.iat !== 'number') throw new TokenClaimInvalid('access token "iat" claim is invalid', 'iat')
    if (typeof payload.jti !== 'string') throw new TokenClaimInvalid('access token "jti" claim is invalid', 'jti')
    checkTemporaryClaims(payload)
    const claims = payload as unknown as AccessTokenClaims
    const verifiedAt = clock()
    checkCurrent(claims, verifiedAt)
    const scopes = typeof claims.scope === 'string' && claims.scope ? claims.scope.split(' ') : []
    // Cached results are shared between calls: nobody may change them.
    const verified: VerifiedAccessToken = Object.freeze({ claims: Object.freeze(claims), scopes: Object.freeze(scopes) })
    remember(token, verified, kid, verifiedAt)
    return verified
  }

  const verifier = Object.assign(verifyAccessToken, {
    cached: (token: string) => (cacheOptions && typeof token === 'string' ? cached(token, clock()) : undefined),
  })
  // A getter (Object.assign would copy its value once).
  return Object.defineProperty(verifier, 'cacheSize', { get: () => cache.size, enumerable: true }) as AccessTokenVerifier
}
