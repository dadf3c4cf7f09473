/**
 * The token client: exchanges an EyePop API key for short-lived access tokens, caches them and
 * refreshes them before they expire.
 *
 * It follows jose's remote JWKS cache: concurrent callers share one pending refresh (single
 * flight), a sequence number stops an older response from overwriting a newer one, every request
 * is bounded by `AbortSignal.timeout`, and `fetch` and the clock are injectable.
 *
 * @module
 */
import { parseApiKey } from '../api-key/format.js'
import { TokenRequestFailed, TokenRequestTimeout } from '../errors.js'
import type { Clock } from '../lib/time.js'
import { EYEPOP_SDK_CLIENT_ID } from '../token/claims.js'
import {
  createClientSession,
  type ClientSession,
  type CreateClientSessionOptions,
} from './client-session.js'

/** Options of {@link createTokenClient}. */
export interface TokenClientOptions {
  /**
   * Base URL (absolute, http or https) of the EyePop API or of the emulator, e.g.
   * `https://compute.eyepop.ai`. Trailing slashes are ignored. Required.
   */
  eyepopUrl: string
  /**
   * The EyePop API key (`eyp_…`). Secret: it is validated once, offline, at construction and never
   * appears in an error message. Required.
   */
  apiKey: string
  /**
   * How the key is exchanged. `'v1'`: `POST /v1/auth/authenticate` with the key as bearer.
   * `'legacy'`: `POST /authentication/token` with a JSON `secret_key`. `'oauth'`: an RFC 8693 token
   * exchange at `/token`. Default is `'v1'`.
   */
  protocol?: 'v1' | 'legacy' | 'oauth'
  /** Absolute URL of the token endpoint (`'oauth'` only). Default is `{eyepopUrl}/token`. */
  tokenEndpoint?: string
  /** The OAuth `client_id` sent with the exchange (`'oauth'` only). Default is `'eyepop-sdk'`. */
  clientId?: string
  /** The space-separated OAuth `scope` requested (`'oauth'` only). Default: none sent. */
  scope?: string
  /** The RFC 8707 `resource` (absolute URI) requested (`'oauth'` only). Default: none sent. */
  resource?: string
  /** Timeout (in milliseconds) of one token request, body included. Default is 5000 (5 seconds). */
  timeoutMs?: number
  /**
   * How long (in seconds) before its expiry a cached token is refreshed. A token whose
   * `expires_in` is not longer than this uses half its lifetime instead, so it is still reused.
   * Default is 60.
   */
  refreshMarginSeconds?: number
  /**
   * The `fetch` used for token requests and by {@link TokenClient.fetch}. It must honour
   * `init.signal`. Default is `globalThis.fetch`.
   */
  fetch?: typeof fetch
  /**
   * Send the API key over plain `http://` to a host beyond loopback. Default is `false`: such a
   * URL is refused at construction, since anyone on the path would read the key. Loopback
   * (`localhost`, `127.0.0.0/8`, `[::1]`: the emulator on this machine) is always allowed.
   */
  allowInsecureHttp?: boolean
  /** Clock (ms). Default is `Date.now`. */
  now?: Clock
}

/** An access token and when it expires. */
export interface AccessToken {
  /** The access token. Secret: never log it. */
  readonly accessToken: string
  /** How the token is presented: always `'Bearer'` (RFC 6750). */
  readonly tokenType: 'Bearer'
  /** When the token expires (ms since the epoch, by the client's clock). */
  readonly expiresAt: number
}

/**
 * A cache of access tokens for one API key. Its methods do not use `this`, so they can be passed
 * around on their own.
 */
export interface TokenClient {
  /**
   * The access token, from the cache while it is fresh, else from one new token request shared by
   * every concurrent caller.
   *
   * @throws {TokenRequestFailed} when the token endpoint refused the key or could not be reached
   * @throws {TokenRequestTimeout} when the token request took longer than `timeoutMs`
   */
  getAccessToken(): Promise<string>
  /** Like {@link TokenClient.getAccessToken}, with the token's type and expiry. */
  getToken(): Promise<AccessToken>
  /** The value of an `Authorization` header for the access token: `Bearer <token>`. */
  authorizationHeader(): Promise<string>
  /**
   * Drops the cached token so the next call requests a new one.
   *
   * @param token when given, the token is dropped only if it is still the cached one, so a late 401
   *   for an old token cannot drop a newer token (or a refresh already under way). Without it, the
   *   cache is dropped and a refresh under way is abandoned: its answer is no longer cached.
   */
  invalidate(token?: string): void
  /**
   * Calls a resource with the access token as bearer. On a 401 it drops that token, gets a new one
   * and retries once; the second answer is returned whatever its status.
   *
   * A streaming body (a `ReadableStream`, an async iterable) can be sent only once, so such a
   * request is not retried: its 401 is returned as is. Other bodies (string, `Blob`, buffers,
   * `URLSearchParams`, `FormData`) are sent again.
   *
   * @param input the resource URL
   * @param init as for `fetch`; its `Authorization` header is replaced
   * @throws {TokenRequestFailed} when no access token could be obtained
   * @throws {TokenRequestTimeout} when the token request took longer than `timeoutMs`
   */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>
  /**
   * Mints a temporary key for a browser or mobile client, authenticated with this client's access
   * token, and returns the session to hand over (see {@link createClientSession}).
   */
  createClientSession(options: CreateClientSessionOptions): Promise<ClientSession>
  /** The base URL the client talks to, without a trailing slash. */
  readonly eyepopUrl: string
  /** Whether a cached token is usable now, without a token request. */
  readonly fresh: boolean
  /** Whether a token request is under way. */
  readonly refreshing: boolean
}

interface CachedToken {
  readonly token: AccessToken
  /** When the token must be refreshed (ms): its expiry less the refresh margin. */
  readonly refreshAt: number
}

interface TokenRequest {
  readonly url: string
  readonly init: RequestInit
}

const PROTOCOLS = ['v1', 'legacy', 'oauth'] as const
/** RFC 8693 §2.1. */
const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** EyePop's token type for an API key used as an RFC 8693 subject token. */
const API_KEY_TOKEN_TYPE = 'urn:eyepop:params:oauth:token-type:api-key'
/** The longest `error_description` quoted in an error message. */
const DESCRIPTION_MAX_LENGTH = 200
/** RFC 6749 §5.2: `error` is 1*NQSCHAR. The length bound is ours. */
const OAUTH_ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/
/** Anything shaped like an API key, redacted from server-provided text before it is quoted. */
const API_KEY_LIKE = /eyp_[A-Za-z0-9]+/g

function validateUrl(value: unknown, name: string): URL {
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new TypeError(
      `"${name}" option must be an absolute http(s) URL without credentials, query or fragment`,
    )
  }
  return url
}

/** Whether a URL's host is this machine (`localhost`, `127.0.0.0/8`, `[::1]`). */
function isLoopback(url: URL): boolean {
  const host = url.hostname
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** Refuses to send the API key in clear beyond this machine. */
function checkKeyTransport(url: URL, name: string, allowInsecureHttp: boolean): void {
  if (url.protocol === 'http:' && !isLoopback(url) && !allowInsecureHttp) {
    throw new TypeError(
      `"${name}" option is plain http to a host beyond loopback, which would send the API key in clear: use https (or set "allowInsecureHttp")`,
    )
  }
}

function validateOptionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`"${name}" option must be a non-empty string`)
  }
  return value
}

/** Whether a request body can be sent a second time. */
function isReplayable(body: RequestInit['body']): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof URLSearchParams ||
    body instanceof FormData
  )
}

function withBearer(init: RequestInit, accessToken: string): RequestInit {
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${accessToken}`)
  return { ...init, headers }
}

/** Server-provided text made safe to quote: keys redacted, no control characters, capped. */
function sanitize(text: string): string {
  return (
    text
      .replace(API_KEY_LIKE, 'eyp_[redacted]')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
      .slice(0, DESCRIPTION_MAX_LENGTH)
  )
}

/** The error for a non-200 answer, with the OAuth `error` code of an RFC 6749 §5.2 body. */
function requestFailed(status: number, text: string): TokenRequestFailed {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  let error: string | undefined
  let description = ''
  if (typeof body === 'object' && body !== null) {
    const { error: code, error_description: desc } = body as Record<string, unknown>
    // a code is quoted only if it is well formed and nothing in it had to be redacted
    if (typeof code === 'string' && OAUTH_ERROR_CODE.test(code) && sanitize(code) === code) {
      error = code
    }
    if (typeof desc === 'string') description = sanitize(desc)
  }
  let message = `token request failed with status ${status}`
  if (error !== undefined) message += ` (${error})`
  if (description !== '') message += `: ${description}`
  return new TokenRequestFailed(message, { status, error })
}

/**
 * Creates a client that exchanges an EyePop API key for access tokens and caches them.
 *
 * - The key is validated offline at construction; options are validated there too.
 * - A token is reused until `refreshMarginSeconds` before it expires.
 * - Any number of concurrent callers during a refresh share one token request; a failed request
 *   rejects all of them, and the next call tries again.
 * - `fetch()` calls a resource with the token and, on a 401, retries once with a new token.
 *
 * @param options see {@link TokenClientOptions}
 * @throws {ApiKeyMalformed} when `apiKey` is not a well-formed API key
 * @throws {TypeError} when an option is invalid
 * @example
 * ```ts
 * const client = createTokenClient({
 *   eyepopUrl: 'https://compute.eyepop.ai',
 *   apiKey: process.env.EYEPOP_API_KEY!,
 * })
 * const res = await client.fetch('https://compute.eyepop.ai/v1/sessions')
 * // or build the header yourself
 * const authorization = await client.authorizationHeader() // 'Bearer …'
 * ```
 * @example
 * ```ts
 * // an RFC 8693 token exchange against the emulator
 * const client = createTokenClient({
 *   eyepopUrl: 'http://127.0.0.1:3000',
 *   apiKey,
 *   protocol: 'oauth',
 *   scope: 'access:inference-api',
 * })
 * const token = await client.getAccessToken()
 * ```
 */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  const { key: apiKey } = parseApiKey(options.apiKey)
  const baseUrl = validateUrl(options.eyepopUrl, 'eyepopUrl')
  const base = baseUrl.href.replace(/\/+$/, '')
  if (options.allowInsecureHttp !== undefined && typeof options.allowInsecureHttp !== 'boolean') {
    throw new TypeError('"allowInsecureHttp" option must be a boolean')
  }
  const allowInsecureHttp = options.allowInsecureHttp ?? false
  const protocol = options.protocol ?? 'v1'
  if (!PROTOCOLS.includes(protocol)) {
    throw new TypeError('"protocol" option must be one of "v1", "legacy" or "oauth"')
  }
  const tokenEndpointUrl = options.tokenEndpoint === undefined ? undefined : validateUrl(options.tokenEndpoint, 'tokenEndpoint')
  const tokenEndpoint = tokenEndpointUrl?.href
  // Where the API key goes: the token endpoint when one is given, else the base URL.
  if (tokenEndpointUrl) checkKeyTransport(tokenEndpointUrl, 'tokenEndpoint', allowInsecureHttp)
  else checkKeyTransport(baseUrl, 'eyepopUrl', allowInsecureHttp)
  const clientId = validateOptionalString(options.clientId, 'clientId') ?? EYEPOP_SDK_CLIENT_ID
  const scope = validateOptionalString(options.scope, 'scope')
  const resource = validateOptionalString(options.resource, 'resource')
  if (
    protocol !== 'oauth' &&
    (tokenEndpoint !== undefined ||
      options.clientId !== undefined ||
      scope !== undefined ||
      resource !== undefined)
  ) {
    throw new TypeError(
      '"tokenEndpoint", "clientId", "scope" and "resource" options require protocol "oauth"',
    )
  }
  const timeoutMs = options.timeoutMs ?? 5000
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('"timeoutMs" option must be a positive integer')
  }
  const refreshMarginSeconds = options.refreshMarginSeconds ?? 60
  if (!Number.isFinite(refreshMarginSeconds) || refreshMarginSeconds < 0) {
    throw new TypeError('"refreshMarginSeconds" option must be a non-negative number')
  }
  const fetchImpl = options.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') throw new TypeError('"fetch" option must be a function')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw new TypeError('"now" option must be a function')

  let cached: CachedToken | undefined
  let pending: Promise<AccessToken> | undefined
  // Bumped by every token request and by `invalidate()`: an answer is cached only if nothing
  // happened since its request started, so an older answer never overwrites a newer state.
  let sequence = 0

  function tokenRequest(): TokenRequest {
    // `redirect: 'manual'`: the API key is never forwarded to another location.
    const accept = { accept: 'application/json' }
    switch (protocol) {
      case 'v1':
        return {
          url: `${base}/v1/auth/authenticate`,
          init: {
            method: 'POST',
            redirect: 'manual',
            headers: { ...accept, authorization: `Bearer ${apiKey}` },
          },
        }
      case 'legacy':
        return {
          url: `${base}/authentication/token`,
          init: {
            method: 'POST',
            redirect: 'manual',
            headers: { ...accept, 'content-type': 'application/json' },
            body: JSON.stringify({ secret_key: apiKey }),
          },
        }
      case 'oauth': {
        // RFC 8693 §2.1; a public client identifies itself with `client_id` (RFC 6749 §3.2.1).
        const form = new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
          client_id: clientId,
          subject_token: apiKey,
          subject_token_type: API_KEY_TOKEN_TYPE,
        })
        if (scope !== undefined) form.set('scope', scope)
        if (resource !== undefined) form.set('resource', resource)
        return {
          url: tokenEndpoint ?? `${base}/token`,
          init: {
            method: 'POST',
            redirect: 'manual',
            headers: { ...accept, 'content-type': 'application/x-www-form-urlencoded' },
            body: form.toString(),
          },
        }
      }
    }
  }

  /** Validates a 200 answer (RFC 6749 §5.1) and derives its expiry and refresh time. */
  function parseTokenResponse(text: string, requestedAt: number): CachedToken {
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    const {
      access_token: accessToken,
      token_type: tokenType,
      expires_in: expiresIn,
    } = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
    if (
      typeof accessToken !== 'string' ||
      accessToken.length === 0 ||
      // token_type is case-insensitive (RFC 6749 §5.1); the 1.x API may omit it
      (tokenType !== undefined &&
        (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) ||
      typeof expiresIn !== 'number' ||
      !Number.isFinite(expiresIn) ||
      expiresIn <= 0
    ) {
      throw new TokenRequestFailed('token response is malformed', { status: 200 })
    }
    // `expires_in` rather than `expires_at`: a relative lifetime is immune to clock skew, and
    // counting from when the request was sent errs on the early side.
    const margin = expiresIn <= refreshMarginSeconds ? expiresIn / 2 : refreshMarginSeconds
    const token: AccessToken = Object.freeze({
      accessToken,
      tokenType: 'Bearer',
      expiresAt: requestedAt + expiresIn * 1000,
    })
    return { token, refreshAt: requestedAt + (expiresIn - margin) * 1000 }
  }

  async function requestToken(): Promise<CachedToken> {
    const { url, init } = tokenRequest()
    const requestedAt = now()
    const signal = AbortSignal.timeout(timeoutMs)
    let status: number
    let text: string
    try {
      const response = await fetchImpl(url, { ...init, signal })
      status = response.status
      text = await response.text()
    } catch (err) {
      if (signal.aborted) {
        throw new TokenRequestTimeout(`token request did not complete within ${timeoutMs} ms`, {
          cause: err,
        })
      }
      throw new TokenRequestFailed('token request could not be completed (network error)', {}, {
        cause: err,
      })
    }
    if (status !== 200) throw requestFailed(status, text)
    return parseTokenResponse(text, requestedAt)
  }

  function refresh(): Promise<AccessToken> {
    const seq = ++sequence
    const promise: Promise<AccessToken> = requestToken()
      .then((result) => {
        if (seq === sequence) cached = result
        return result.token
      })
      .finally(() => {
        // `invalidate()` may have replaced this request with a newer one
        if (pending === promise) pending = undefined
      })
    pending = promise
    return promise
  }

  function isFresh(entry: CachedToken | undefined): entry is CachedToken {
    return entry !== undefined && now() < entry.refreshAt
  }

  function getToken(): Promise<AccessToken> {
    if (isFresh(cached)) return Promise.resolve(cached.token)
    return pending ?? refresh()
  }

  async function getAccessToken(): Promise<string> {
    return (await getToken()).accessToken
  }

  function invalidate(token?: string): void {
    if (token !== undefined) {
      // a refresh under way already replaces this token, so it is kept
      if (cached?.token.accessToken === token) cached = undefined
      return
    }
    cached = undefined
    pending = undefined
    sequence++
  }

  const client: TokenClient = {
    eyepopUrl: base,
    getAccessToken,
    getToken,
    async authorizationHeader() {
      return `Bearer ${await getAccessToken()}`
    },
    invalidate,
    async fetch(input, init = {}) {
      const first = await getAccessToken()
      const response = await fetchImpl(input, withBearer(init, first))
      if (response.status !== 401 || !isReplayable(init.body)) return response
      invalidate(first)
      // release the connection of the answer that is dropped
      await response.body?.cancel().catch(() => undefined)
      const second = await getAccessToken()
      return fetchImpl(input, withBearer(init, second))
    },
    createClientSession: (sessionOptions) => createClientSession(client, sessionOptions),
    get fresh() {
      return isFresh(cached)
    },
    get refreshing() {
      return pending !== undefined
    },
  }
  return client
}
