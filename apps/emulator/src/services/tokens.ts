import { API_KEY_PREFIX, DEFAULT_API_KEY_SCOPES, DEFAULT_TEMPORARY_KEY_SCOPES, EYEPOP_SDK_CLIENT_ID, hashApiKey, isAuthCoreError, issueAccessToken, parseApiKey, verifyApiKey, type AccessTokenVerifier, type ApiKeyRecord, type Clock, type IssueAccessTokenResult, type Keyring } from '@eyepop/auth-core'
import { isOriginPattern } from '../config/schema.js'
import { CredentialExpiring, InvalidInput, NotAllowed, ScopeNotAllowed, UnknownTarget } from './errors.js'
import type { AuditRecorder } from './audit.js'
import type { UsageRecorder } from './usage-recorder.js'
import type { EmulatorStore, PopRecord } from '../store/types.js'

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
   * @throws auth-core errors for a bad subject; `InvalidInput`, `UnknownTarget`, `ScopeNotAllowed`
   *   or `NotAllowed` for a request that breaks a rule (the message says which)
   */
  mintTemporaryKey(subject: TemporaryKeySubject, request: TemporaryKeyRequest): Promise<TemporaryKey>
  /** Verifies an API key (format, known, not deleted, not expired) and returns its record. */
  authenticateApiKey(key: unknown): Promise<ApiKeyRecord>
  /**
   * Issues the token of a compute session's worker calls (the SDK 3.x): an access token of the
   * caller's API key narrowed to `access:inference-api`, never outliving `caller.notAfter`.
   *
   * @throws {InvalidToken} when the caller's credential expires too soon to issue one
   */
  issueSessionToken(caller: SessionTokenCaller): Promise<IssueAccessTokenResult>
  /**
   * The keyring to sign with: re-read from the store when it was read over a minute ago, so that a
   * rotation on another instance sharing the store is followed within a minute.
   */
  signingKeyring(): Promise<Keyring>
}

/** Who a compute session's token is issued for. */
export interface SessionTokenCaller {
  accountId: string
  /** The API key the caller's credential derives from. */
  keyId: string
  /** The latest time (ms) the token may live to; `null` for no limit. */
  notAfter: number | null
}

/** The scope of a compute session's worker token: inference only. */
const SESSION_TOKEN_SCOPE = 'access:inference-api'

/** Whether a bearer credential is an API key (else it is an access token). */
export function isApiKeyCredential(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX)
}

function subsetScopes(requested: readonly string[] | undefined, allowed: readonly string[], fallback: readonly string[]): string[] {
  if (requested === undefined) return fallback.filter((s) => allowed.includes(s))
  const unique = [...new Set(requested)]
  if (unique.length === 0) throw new ScopeNotAllowed('scope must not be empty')
  const extra = unique.filter((s) => !allowed.includes(s))
  // The extra scopes are not repeated: a pasted secret must not come back.
  if (extra.length > 0) throw new ScopeNotAllowed(`scope is broader than the credential that grants it (${extra.length} unknown)`)
  return unique
}

/** How long (in milliseconds) `auth.failed` is not recorded again for the same key. */
export const AUTH_FAILED_AUDIT_INTERVAL_MS = 10_000

/**
 * How often (in milliseconds, by the emulator's clock) at most the signing keys are re-read from the
 * store before a token is signed.
 */
export const SIGNING_KEYS_REREAD_MS = 60_000

/** Creates the token service. */
export function createTokenService(deps: {
  store: EmulatorStore
  pepper: Uint8Array
  keyring: Keyring
  verify: AccessTokenVerifier
  issuer: string
  audience: string
  ttlSeconds: number
  temporaryKeyTtlSeconds: number
  temporaryKeyMaxTtlSeconds: number
  usage: UsageRecorder
  /**
   * Where key events are noted: `key.first_used` and `auth.failed`. Without it, nothing is
   * recorded.
   */
  audit?: AuditRecorder
  /** Finds a Pop by id (the Pop service caches them). Default: the store. */
  findPop?: (id: string) => Promise<PopRecord | undefined>
  now: Clock
}): TokenService {
  const { store, pepper, keyring, issuer, audience, ttlSeconds, usage, audit, now } = deps
  const findPop = deps.findPop ?? ((id: string) => store.pops.get(id))
  /** When `auth.failed` was last recorded for a key (ms). */
  const lastFailureRecorded = new Map<string, number>()
  let keysReadAt = now()
  let rereading: Promise<void> | undefined

  /**
   * The keyring to sign with, re-read from the store when it was read over a minute ago: another
   * emulator sharing the store may have rotated, and the retired key this one would otherwise go
   * on signing with stops verifying (everywhere but here) a day after. One read at a time; a failed
   * one keeps the keys this one has, and is tried again a minute later.
   */
  async function signingKeyring(): Promise<Keyring> {
    if (now() - keysReadAt >= SIGNING_KEYS_REREAD_MS) {
      rereading ??= keyring
        .reload()
        .catch(() => undefined)
        .finally(() => {
          keysReadAt = now()
          rereading = undefined
        })
      await rereading
    }
    return keyring
  }

  /**
   * Records `auth.failed` for a known key that was refused for being expired or deleted. The key
   * is looked up by hash again here, only after such a refusal: a malformed or unknown key says
   * nothing about any account and is not recorded. At most one event per key per 10 s.
   */
  async function recordFailure(key: unknown, err: unknown): Promise<void> {
    if (!audit || !isAuthCoreError(err)) return
    const reason = err.code === 'ERR_API_KEY_EXPIRED' ? 'expired' : err.code === 'ERR_API_KEY_REVOKED' ? 'deleted' : undefined
    if (!reason) return
    const record = await store.apiKeys.findByHash(hashApiKey(parseApiKey(key).key, pepper))
    if (!record) return
    const at = now()
    const last = lastFailureRecorded.get(record.id)
    if (last !== undefined && at - last < AUTH_FAILED_AUDIT_INTERVAL_MS) return
    if (lastFailureRecorded.size >= 10_000) {
      for (const [id, when] of lastFailureRecorded) {
        if (at - when >= AUTH_FAILED_AUDIT_INTERVAL_MS) lastFailureRecorded.delete(id)
      }
    }
    lastFailureRecorded.set(record.id, at)
    audit.record({ accountId: record.accountId, keyId: record.id, type: 'auth.failed', at, detail: { reason } })
  }

  /**
   * Verifies an API key as auth-core does, notes its use (written in the usage recorder's next
   * batch) and, in the audit log, its first use or a failure. A use is first when the store has
   * none and no use of this process waits to be written: nothing is kept per key beyond that
   * batch, so keys used once and deleted leave nothing behind.
   */
  async function verifyKey(key: unknown): Promise<ApiKeyRecord> {
    let record: ApiKeyRecord
    try {
      record = await verifyApiKey(key, { store, pepper, now })
    } catch (err) {
      // The audit log must never change the answer: a failure to record is swallowed.
      await recordFailure(key, err).catch(() => undefined)
      throw err
    }
    const at = now()
    // Checked and noted in one turn: of concurrent first uses, only one is first.
    if (audit && record.lastUsedAt === null && !usage.hasUnwritten(record.id)) {
      audit.record({ accountId: record.accountId, keyId: record.id, type: 'key.first_used', at, detail: {} })
    }
    usage.record(record.id, at, record.lastUsedAt)
    return record
  }

  /** The account, key id, scopes and latest expiry of what mints a temporary key. */
  async function parentOf(subject: TemporaryKeySubject) {
    if ('apiKey' in subject) {
      const record = await verifyKey(subject.apiKey)
      return { accountId: record.accountId, keyId: record.id, scopes: DEFAULT_API_KEY_SCOPES as readonly string[], notAfter: record.expiresAt }
    }
    const { claims, scopes } = await deps.verify(subject.accessToken)
    if (claims.temporary) throw new NotAllowed('a temporary key cannot mint other keys')
    return { accountId: claims.sub, keyId: claims.key_id, scopes, notAfter: claims.exp * 1000 }
  }

  return {
    signingKeyring,
    authenticateApiKey: (key) => verifyKey(key),
    async issueSessionToken(caller) {
      const issued = await issueAccessToken({
        keyring: await signingKeyring(),
        issuer,
        audience,
        subject: caller.accountId,
        keyId: caller.keyId,
        clientId: EYEPOP_SDK_CLIENT_ID,
        scopes: [SESSION_TOKEN_SCOPE],
        ttlSeconds,
        notAfter: caller.notAfter,
        now,
      })
      if (issued.expiresIn <= 0) throw new CredentialExpiring('the credential expires too soon to open a compute session')
      return issued
    },
    async mintTemporaryKey(subject, request) {
      if (typeof request.popId !== 'string' || request.popId === '') {
        throw new InvalidInput('pop_id must be provided')
      }
      const ttl = request.ttlSeconds ?? deps.temporaryKeyTtlSeconds
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0 || ttl > deps.temporaryKeyMaxTtlSeconds) {
        throw new InvalidInput(`ttl_seconds must be an integer from 1 to ${deps.temporaryKeyMaxTtlSeconds}`)
      }
      let origins: string[] | undefined
      if (request.allowedOrigins !== undefined) {
        const list = request.allowedOrigins
        // An empty list would bind the key to no origin at all, which reads as "any origin".
        if (Array.isArray(list) && list.length === 0) {
          throw new InvalidInput('allowed_origins must name at least one origin; leave it out to allow any')
        }
        if (!Array.isArray(list) || list.length > 20 || !list.every((o) => isOriginPattern(o) && !o.endsWith(':*'))) {
          throw new InvalidInput('allowed_origins must be a list of at most 20 origins such as https://app.example')
        }
        origins = [...new Set(list as string[])]
      }
      const parent = await parentOf(subject)
      const pop = /^[0-9a-f]{32}$/.test(request.popId) ? await findPop(request.popId) : undefined
      // Another account's Pop is reported exactly like a missing one.
      if (!pop || pop.accountId !== parent.accountId) throw new UnknownTarget('pop not found')
      const scopes = subsetScopes(request.scopes, parent.scopes, DEFAULT_TEMPORARY_KEY_SCOPES)
      if (scopes.length === 0) throw new ScopeNotAllowed('the credential has no scope a temporary key can carry')
      const issued = await issueAccessToken({
        keyring: await signingKeyring(),
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
      if (issued.expiresIn <= 0) throw new InvalidInput('the credential expires too soon to mint a temporary key')
      return {
        accessToken: issued.accessToken,
        expiresIn: issued.expiresIn,
        expiresAt: issued.expiresAt,
        popId: pop.id,
        scope: issued.claims.scope,
      }
    },
    async exchangeApiKey(key, options = {}) {
      const record = await verifyKey(key)
      const scopes = subsetScopes(options.scopes, DEFAULT_API_KEY_SCOPES, DEFAULT_API_KEY_SCOPES)
      const issued = await issueAccessToken({
        keyring: await signingKeyring(),
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
