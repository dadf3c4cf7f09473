import {
  DEFAULT_API_KEY_SCOPES,
  EYEPOP_SDK_CLIENT_ID,
  issueAccessToken,
  verifyApiKey,
  type Clock,
  type Keyring,
  type Store,
} from '@eyepop/auth-core'
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

/** Exchanges API keys for access tokens, the same way on every route. */
export interface TokenService {
  /**
   * Verifies an API key and issues an access token for its account.
   *
   * @throws auth-core errors (`ERR_API_KEY_*`) for a bad key, `TypeError` for bad options
   */
  exchangeApiKey(key: unknown, options?: ExchangeOptions): Promise<TokenResponseBody>
}

/** Creates the token service. */
export function createTokenService(deps: {
  store: Store
  pepper: Uint8Array
  keyring: Keyring
  issuer: string
  audience: string
  ttlSeconds: number
  usage: UsageRecorder
  now: Clock
}): TokenService {
  const { store, pepper, keyring, issuer, audience, ttlSeconds, usage, now } = deps
  return {
    async exchangeApiKey(key, options = {}) {
      const record = await verifyApiKey(key, { store, pepper, now })
      const scopes = options.scopes ?? DEFAULT_API_KEY_SCOPES
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
