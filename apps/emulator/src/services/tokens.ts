import {
  API_KEY_PREFIX,
  DEFAULT_API_KEY_SCOPES,
  DEFAULT_TEMPORARY_KEY_SCOPES,
  EYEPOP_SDK_CLIENT_ID,
  issueAccessToken,
  verifyApiKey,
  type AccessTokenVerifier,
  type ApiKeyRecord,
  type Clock,
  type Keyring,
  type Store,
} from '@eyepop/auth-core'
import { isOriginPattern } from '../config/schema.js'
import { AccessDenied, InvalidRequest, InvalidScope, InvalidTarget } from '../http/errors.js'
import type { UsageRecorder } from './usage-recorder.js'

/** The JSON body every token route answers with. */
export interface TokenResponseBody {
  access_token: string
  token_type: 'Bearer'
  /** Seconds from now. */
  expires_in: number
  /** ISO-8601 expiry (the Python SDK's refresh path reads it). */
  expires_at: string
  scope: string
}

/** Options of an exchange. */
export interface ExchangeOptions {
  /** Narrower scopes; must be a subset of the key's. Default: all of them. */
  scopes?: readonly string[]
}

/** What a temporary key is minted from: the server's API key or an access token of it. */
export type TemporaryKeySubject = { apiKey: string } | { accessToken: string }

/** What a server asks for when it mints a temporary key. */
export interface TemporaryKeyRequest {
  /** The only Pop the key reaches; it must belong to the subject's account. */
  popId: unknown
  /** Lifetime (in seconds). Default: the configured `temporaryKeyTtlSeconds`. */
  ttlSeconds?: unknown
  /** Scopes, a subset of the subject's. Default: `access:inference-api`. */
  scopes?: readonly string[]
  /** Browser origins the key may be used from. Default: any. */
  allowedOrigins?: unknown
}

/** A minted temporary key. */
export interface TemporaryKey {
  accessToken: string
  /** Seconds from now. */
  expiresIn: number
  /** Expiry (ms). */
  expiresAt: number
  popId: string
  scope: string
}

/** Exchanges API keys for access tokens, the same way on every route. */
export interface TokenService {
  /**
   * Verifies an API key and issues an access token for its account.
   *
   * @throws auth-core errors (`ERR_API_KEY_*`) for a bad key, `InvalidScope` for a broader scope
   */
  exchangeApiKey(key: unknown, options?: ExchangeOptions): Promise<TokenResponseBody>
  /**
   * Mints a temporary key: bound to one Pop of the subject's account, short-lived, never broader
   * than the subject (scope, account, lifetime). A temporary key cannot mint another.
   *
   * @throws auth-core errors for a bad subject; `InvalidRequest`, `InvalidTarget`, `InvalidScope`
   *   or `AccessDenied` for a request that breaks a rule (the message says which)
   */
  mintTemporaryKey(subject: TemporaryKeySubject, request: TemporaryKeyRequest): Promise<TemporaryKey>
  /** Verifies an API key (format, known, not deleted, not expired) and returns its record. */
  authenticateApiKey(key: unknown): Promise<ApiKeyRecord>
}

/** Whether a bearer credential is an API key (else it is an access token). */
export function isApiKeyCredential(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX)
}

function subsetScopes(requested: readonly string[] | undefined, allowed: readonly string[], fallback: readonly string[]): string[] {
  if (requested === undefined) return fallback.filter((s) => allowed.includes(s))
  const unique = [...new Set(requested)]
  if (unique.length === 0) throw new InvalidScope('scope must not be empty')
  const extra = unique.filter((s) => !allowed.includes(s))
  // The extra scopes are not repeated: a pasted secret must not come back.
  if (extra.length > 0) throw new InvalidScope(`scope is broader than the credential that grants it (${extra.length} unknown)`)
  return unique
}

/** Creates the token service. */
export function createTokenService(deps: {
  store: Store
  pepper: Uint8Array
  keyring: Keyring
  verify: AccessTokenVerifier
  issuer: string
  audience: string
  ttlSeconds: number
  temporaryKeyTtlSeconds: number
  temporaryKeyMaxTtlSeconds: number
  usage: UsageRecorder
  now: Clock
}): TokenService {
  const { store, pepper, keyring, issuer, audience, ttlSeconds, usage, now } = deps

  /** The account, key id, scopes and latest expiry of what mints a temporary key. */
  async function parentOf(subject: TemporaryKeySubject) {
    if ('apiKey' in subject) {
      const record = await verifyApiKey(subject.apiKey, { store, pepper, now })
      usage.record(record.id, now())
      return { accountId: record.accountId, keyId: record.id, scopes: DEFAULT_API_KEY_SCOPES as readonly string[], notAfter: record.expiresAt }
    }
    const { claims, scopes } = await deps.verify(subject.accessToken)
    if (claims.temporary) throw new AccessDenied('a temporary key cannot mint other keys')
    return { accountId: claims.sub, keyId: claims.key_id, scopes, notAfter: claims.exp * 1000 }
  }

  return {
    authenticateApiKey: (key) => verifyApiKey(key, { store, pepper, now }),
    async mintTemporaryKey(subject, request) {
      if (typeof request.popId !== 'string' || request.popId === '') {
        throw new InvalidRequest('pop_id must be provided')
      }
      const ttl = request.ttlSeconds ?? deps.temporaryKeyTtlSeconds
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0 || ttl > deps.temporaryKeyMaxTtlSeconds) {
        throw new InvalidRequest(`ttl_seconds must be an integer from 1 to ${deps.temporaryKeyMaxTtlSeconds}`)
      }
      let origins: string[] | undefined
      if (request.allowedOrigins !== undefined) {
        const list = request.allowedOrigins
        if (!Array.isArray(list) || list.length > 20 || !list.every((o) => isOriginPattern(o) && !o.endsWith(':*'))) {
          throw new InvalidRequest('allowed_origins must be a list of at most 20 origins such as https://app.example')
        }
        origins = [...new Set(list as string[])]
      }
      const parent = await parentOf(subject)
      const pop = /^[0-9a-f]{32}$/.test(request.popId) ? await store.pops.get(request.popId) : undefined
      // Another account's Pop is reported exactly like a missing one.
      if (!pop || pop.accountId !== parent.accountId) throw new InvalidTarget('pop not found')
      const scopes = subsetScopes(request.scopes, parent.scopes, DEFAULT_TEMPORARY_KEY_SCOPES)
      if (scopes.length === 0) throw new InvalidScope('the credential has no scope a temporary key can carry')
      const issued = await issueAccessToken({
        keyring,
        issuer,
        audience,
        subject: parent.accountId,
        keyId: parent.keyId,
        clientId: EYEPOP_SDK_CLIENT_ID,
        scopes,
        ttlSeconds: ttl,
        notAfter: parent.notAfter,
        temporary: { popId: pop.id, ...(origins && { allowedOrigins: origins }) },
        now,
      })
      if (issued.expiresIn <= 0) throw new InvalidRequest('the credential expires too soon to mint a temporary key')
      return {
        accessToken: issued.accessToken,
        expiresIn: issued.expiresIn,
        expiresAt: issued.expiresAt,
        popId: pop.id,
        scope: issued.claims.scope,
      }
    },
    async exchangeApiKey(key, options = {}) {
      const record = await verifyApiKey(key, { store, pepper, now })
      const scopes = subsetScopes(options.scopes, DEFAULT_API_KEY_SCOPES, DEFAULT_API_KEY_SCOPES)
      const issued = await issueAccessToken({
        keyring,
        issuer,
        audience,
        subject: record.accountId,
        keyId: record.id,
        clientId: EYEPOP_SDK_CLIENT_ID,
        scopes,
        ttlSeconds,
        notAfter: record.expiresAt,
        now,
      })
      usage.record(record.id, issued.claims.iat * 1000)
      return {
        access_token: issued.accessToken,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        expires_at: new Date(issued.expiresAt).toISOString(),
        scope: issued.claims.scope,
      }
    },
  }
}
