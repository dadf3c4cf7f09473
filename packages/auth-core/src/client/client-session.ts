import { TokenRequestFailed } from '../errors.js'

/**
 * The session a server hands to its browser or mobile client: the EyePop SDK's `Session`, which
 * `EyePop.workerEndpoint({ auth: { session } })` takes as is.
 */
export interface ClientSession {
  /** The EyePop API (or emulator) the client talks to. */
  readonly eyepopUrl: string
  /** The temporary key. Secret, but short-lived and bound to one Pop. */
  readonly accessToken: string
  /** When the temporary key expires, in milliseconds since the epoch. */
  readonly validUntil: number
  /** The only Pop the temporary key reaches. */
  readonly popId: string
}

/** Options of {@link createClientSession}. */
export interface CreateClientSessionOptions {
  /** The Pop the browser may use. Required. */
  popId: string
  /** Lifetime (in seconds). Default: the server's (15 minutes on the emulator). */
  ttlSeconds?: number
  /** The browser origin(s) allowed to use the key, e.g. `https://app.example`. Default: any. */
  origin?: string | string[]
  /** Space-separated scopes, a subset of the server's. Default: `access:inference-api`. */
  scope?: string
}

/** What {@link createClientSession} needs of a token client. */
export interface ClientSessionIssuer {
  readonly eyepopUrl: string
  fetch(input: string | URL, init?: RequestInit): Promise<Response>
}

function isSession(value: unknown): value is ClientSession {
  const v = value as Record<string, unknown> | null
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.eyepopUrl === 'string' &&
    typeof v.accessToken === 'string' &&
    v.accessToken !== '' &&
    typeof v.validUntil === 'number' &&
    Number.isFinite(v.validUntil) &&
    typeof v.popId === 'string'
  )
}

/**
 * Mints a temporary key for a browser or mobile client and returns the session to hand over. The
 * request is authenticated with the server's access token (never the API key itself), through
 * `POST {eyepopUrl}/v1/auth/client-sessions`; the key never leaves the server.
 *
 * @throws {TypeError} for bad options
 * @throws {TokenRequestFailed} when the server refused (the Pop is unknown, a rule was broken)
 * @example
 * ```ts
 * const client = createTokenClient({ eyepopUrl, apiKey: process.env.EYEPOP_API_KEY! })
 * app.get('/api/eyepop-session', async (_req, res) => {
 *   res.json(await client.createClientSession({ popId, ttlSeconds: 900, origin: 'https://app.example' }))
 * })
 * ```
 */
export async function createClientSession(
  issuer: ClientSessionIssuer,
  options: CreateClientSessionOptions,
): Promise<ClientSession> {
  if (typeof options?.popId !== 'string' || options.popId === '') {
    throw new TypeError('"popId" option must be a non-empty string')
  }
  if (options.ttlSeconds !== undefined && (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds <= 0)) {
    throw new TypeError('"ttlSeconds" option must be a positive integer')
  }
  const origins = options.origin === undefined ? undefined : [options.origin].flat()
  if (origins?.some((o) => typeof o !== 'string')) throw new TypeError('"origin" option must be a string or a list of strings')
  if (origins?.length === 0) throw new TypeError('"origin" option must name at least one origin; leave it out to allow any')
  const res = await issuer.fetch(`${issuer.eyepopUrl}/v1/auth/client-sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({
      pop_id: options.popId,
      ttl_seconds: options.ttlSeconds,
      allowed_origins: origins,
      scope: options.scope,
    }),
  })
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (res.status !== 200) {
    const { error, error_description: description } = (body ?? {}) as Record<string, unknown>
    const code = typeof error === 'string' ? error.slice(0, 64) : undefined
    const detail = typeof description === 'string' ? `: ${description.replace(/eyp_[A-Za-z0-9]+/g, 'eyp_[redacted]').slice(0, 200)}` : ''
    throw new TokenRequestFailed(
      `client session request failed with status ${res.status}${code ? ` (${code})` : ''}${detail}`,
      { status: res.status, ...(code && { error: code }) },
    )
  }
  if (!isSession(body)) throw new TokenRequestFailed('client session response is malformed', { status: res.status })
  return { eyepopUrl: body.eyepopUrl, accessToken: body.accessToken, validUntil: body.validUntil, popId: body.popId }
}
