/**
 * A small client of EyePop's compute API that does what the EyePop Node SDK 3.x does on the wire.
 * The 3.x SDK cannot be installed here (the registry serves only 1.18.1), so the `EyePopNodeSdkV3`
 * contract is written through this client instead. It mirrors, from
 * `/work/shared/eyepop-auth-protocol.md` (the Node SDK at eyepop-ai/eyepop-sdk-node c7bde8c):
 *
 * - §2.1 `POST {eyepopUrl}/v1/auth/authenticate`: the API key as `Authorization: Bearer`, no body
 *   and no other header; exactly 200 is success, read `access_token`, `expires_in` and
 *   `token_type`; the token counts as valid until `now + expires_in - 60` s (§3); any other status
 *   rejects with `Unexpected status <code>: <body text>`.
 * - §2.2 `GET /v1/sessions` with the caller's credential (the API key itself, an `accessToken`, or
 *   a handed-over session's token): 200 with a JSON array; 404 means "no sessions" (an empty list);
 *   anything else rejects with `Unexpected status N fetching compute sessions: <msg>`.
 * - §2.2 `POST /v1/sessions?wait=true`: `Content-Type: application/json` and a body only when there
 *   is something to send; exactly 200 with a JSON array, of which element [0] is the session;
 *   structured errors `{code, message}` (or `{error: "<json of that>"}`) are flattened to
 *   `<code>: <message>`.
 * - §2.2 `GET /v1/sessions/{uuid}` for a persistent session: 200 with one object; 404 rejects with
 *   `compute sessions <uuid> not found`. `DELETE /v1/sessions/{uuid}` with
 *   `Accept: application/json` (as `scripts/session-smoke.mjs`): 200, 202 or 204 mean deleted, 404
 *   means already gone.
 * - §2.2 reuse: the first session whose status is not error, failed, stopped, pipeline_error or
 *   unknown, that is not `persistent`, and whose `session_name` matches when one is configured.
 * - §2.3 `GET {session_endpoint}/health` with the session's `access_token` (else the caller's own
 *   credential) and `Accept: application/json`, every 250 ms until ready (200 and a JSON
 *   `session_status: "running"`, or a JSON `message` without `session_status`, or `text/plain`
 *   containing `I'm fine`) or until `sessionReadyTimeoutSeconds` (60) run out.
 * - §2.5 `GET {eyepopUrl}/v1/configs[?account_uuid=…]` with the `/v1/auth/authenticate` token (or
 *   the `accessToken` / session token as is): 200 `{dataset_api_url, vlm_api_url}`, relative URLs
 *   resolved against `eyepopUrl`; on 401 the token is dropped and the call retried once.
 * - §3 `session()`: `validUntil` is `Date.parse(access_token_expires_at)`, else
 *   `now + access_token_expires_in * 1000`, else `Number.MAX_VALUE`.
 *
 * It leaves out what no contract here needs: jobs, pipelines, the data API's own calls, Auth0 and
 * local mode.
 *
 * @module
 */

/** The hand-over a server gives a browser (the SDK's `Session`). */
export interface HandedOverSession {
  eyepopUrl: string
  accessToken: string
  /** Expiry, in milliseconds since the epoch. */
  validUntil: number
}

/** Options of {@link createV3Client}: exactly one of `apiKey`, `accessToken` or `session`. */
export interface V3ClientOptions {
  /** The compute API's base URL, e.g. `https://compute.eyepop.ai`. Required unless `session`. */
  eyepopUrl?: string
  /** The API key (`eyp_…`), sent as is to the session routes. Secret. */
  apiKey?: string
  /** A pre-issued access token, used as is and never refreshed. */
  accessToken?: string
  /** A session handed over by a server. */
  session?: HandedOverSession
  /** Only reuse (and name new) sessions with this name. Default: any. */
  sessionName?: string
  /** Connect to this persistent session (`EYEPOP_SESSION_UUID`). Default: none. */
  sessionUuid?: string
  /** How long (in seconds) to wait for a session to be ready. Default is 60. */
  sessionReadyTimeoutSeconds?: number
  /** Pause (in milliseconds) between two health checks. Default is 250. */
  healthIntervalMs?: number
  /** `fetch`. Default is `globalThis.fetch`. */
  fetch?: typeof fetch
  /** Clock (ms). Default is `Date.now`. */
  now?: () => number
}

/** A compute session, as the SDK reads it (§2.2; fields it does not read are left out). */
export interface ComputeSession {
  session_uuid: string
  session_endpoint: string
  session_status?: string
  session_name?: string | null
  persistent?: boolean
  pipeline_uuid?: string
  access_token?: string
  access_token_expires_at?: string
  access_token_expires_in?: number
}

/** The worker session `session()` returns (the SDK's `WorkerSession`, without its function). */
export interface WorkerSession extends HandedOverSession {
  popId: 'transient'
  baseUrl: string
  pipelineId: string | undefined
}

/** The data API's addresses, resolved against `eyepopUrl`. */
export interface DataConfig {
  datasetApiUrl: string
  vlmApiUrl: string
}

/** A client of the compute API that behaves as the Node SDK 3.x. */
export interface V3Client {
  /** `POST /v1/auth/authenticate`: the access token for the data API (API key only; cached). */
  authenticate(): Promise<string>
  /** `GET /v1/sessions`; 404 is an empty list. */
  listSessions(): Promise<ComputeSession[]>
  /** `POST /v1/sessions?wait=true`, with a body only when it has fields. */
  createSession(body?: Record<string, unknown>): Promise<ComputeSession>
  /** `GET /v1/sessions/{uuid}`. */
  getSession(uuid: string): Promise<ComputeSession>
  /** `DELETE /v1/sessions/{uuid}`: `true` if deleted, `false` if it was already gone. */
  deleteSession(uuid: string): Promise<boolean>
  /** Polls `{session_endpoint}/health` until the session is ready. */
  waitUntilReady(session: ComputeSession): Promise<void>
  /** Finds (by uuid, or reusable by name) or creates a session, waits for it, and keeps it. */
  connect(): Promise<ComputeSession>
  /** The session to hand over to another process, after {@link V3Client.connect}. */
  session(): WorkerSession
  /** `GET /v1/configs[?account_uuid=…]`. */
  fetchDataConfig(accountUuid?: string): Promise<DataConfig>
}

const NOT_REUSABLE = new Set(['error', 'failed', 'stopped', 'pipeline_error', 'unknown'])

/** A structured error body flattened as the SDK does, else the raw text. */
function describeError(text: string): string {
  try {
    let body = JSON.parse(text) as Record<string, unknown>
    if (typeof body.error === 'string' && body.error.startsWith('{')) body = JSON.parse(body.error) as Record<string, unknown>
    if (typeof body.code === 'string' && typeof body.message === 'string') return `${body.code}: ${body.message}`
  } catch {
    // not JSON: the text as is
  }
  return text
}

/**
 * Creates a compute-API client that follows the EyePop Node SDK 3.x (see the module header).
 *
 * @example
 * ```ts
 * const client = createV3Client({ eyepopUrl: 'https://compute.eyepop.ai', apiKey: process.env.EYEPOP_API_KEY! })
 * const session = await client.connect()
 * res.json(client.session()) // hand it to a browser
 * ```
 */
export function createV3Client(options: V3ClientOptions): V3Client {
  const credentials = [options.apiKey, options.accessToken, options.session].filter((c) => c !== undefined)
  if (credentials.length !== 1) throw new TypeError('exactly one of "apiKey", "accessToken" or "session" must be given')
  const base = (options.eyepopUrl ?? options.session?.eyepopUrl)?.replace(/\/+$/, '')
  if (base === undefined) throw new TypeError('"eyepopUrl" option is required')
  const fetchImpl = options.fetch ?? globalThis.fetch
  const now = options.now ?? Date.now
  const timeoutMs = (options.sessionReadyTimeoutSeconds ?? 60) * 1000
  const intervalMs = options.healthIntervalMs ?? 250
  /** What the session routes take: the API key itself, or the token given. */
  const callerCredential = options.apiKey ?? options.accessToken ?? options.session!.accessToken
  let token: { value: string; validUntilSeconds: number } | undefined
  let current: ComputeSession | undefined

  const bearer = (credential: string) => ({ Authorization: `Bearer ${credential}` })

  async function authenticate(): Promise<string> {
    if (options.apiKey === undefined) return callerCredential
    const nowSeconds = now() / 1000
    if (token && token.validUntilSeconds >= nowSeconds) return token.value
    const res = await fetchImpl(`${base}/v1/auth/authenticate`, { method: 'POST', headers: bearer(options.apiKey) })
    if (res.status !== 200) throw new Error(`Unexpected status ${res.status}: ${await res.text()}`)
    const body = (await res.json()) as { access_token: string; expires_in: number }
    token = { value: body.access_token, validUntilSeconds: nowSeconds + body.expires_in - 60 }
    return token.value
  }

  async function listSessions(): Promise<ComputeSession[]> {
    const res = await fetchImpl(`${base}/v1/sessions`, { headers: bearer(callerCredential) })
    if (res.status === 404) {
      await res.body?.cancel()
      return []
    }
    if (res.status !== 200) throw new Error(`Unexpected status ${res.status} fetching compute sessions: ${describeError(await res.text())}`)
    return (await res.json()) as ComputeSession[]
  }

  async function createSession(body: Record<string, unknown> = {}): Promise<ComputeSession> {
    const hasBody = Object.keys(body).length > 0
    const res = await fetchImpl(`${base}/v1/sessions?wait=true`, {
      method: 'POST',
      headers: { ...bearer(callerCredential), ...(hasBody && { 'Content-Type': 'application/json' }) },
      ...(hasBody && { body: JSON.stringify(body) }),
    })
    if (res.status !== 200) throw new Error(describeError(await res.text()) || `Unexpected status ${res.status} creating a compute session`)
    const [session] = (await res.json()) as ComputeSession[]
    if (!session) throw new Error('compute session response holds no session')
    return session
  }

  async function getSession(uuid: string): Promise<ComputeSession> {
    const res = await fetchImpl(`${base}/v1/sessions/${encodeURIComponent(uuid)}`, { headers: bearer(callerCredential) })
    if (res.status === 404) {
      await res.body?.cancel()
      throw new Error(`compute sessions ${uuid} not found`)
    }
    if (res.status !== 200) throw new Error(`Unexpected status ${res.status} fetching compute sessions ${uuid}: ${describeError(await res.text())}`)
    return (await res.json()) as ComputeSession
  }

  async function deleteSession(uuid: string): Promise<boolean> {
    const res = await fetchImpl(`${base}/v1/sessions/${encodeURIComponent(uuid)}`, {
      method: 'DELETE',
      headers: { ...bearer(callerCredential), Accept: 'application/json' },
    })
    await res.body?.cancel()
    if (res.status === 200 || res.status === 202 || res.status === 204) return true
    if (res.status === 404) return false
    throw new Error(`Unexpected status ${res.status} deleting compute session ${uuid}`)
  }

  async function isReady(res: Response): Promise<boolean> {
    if (res.status !== 200) {
      await res.body?.cancel()
      return false
    }
    const type = res.headers.get('content-type') ?? ''
    if (type.startsWith('text/plain')) return (await res.text()).includes("I'm fine")
    const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined
    if (typeof body !== 'object' || body === null) return false
    if (body.session_status === 'running') return true
    return body.message !== undefined && body.session_status === undefined
  }

  async function waitUntilReady(session: ComputeSession): Promise<void> {
    const deadline = now() + timeoutMs
    const credential = session.access_token || callerCredential
    for (;;) {
      const res = await fetchImpl(`${session.session_endpoint.replace(/\/+$/, '')}/health`, {
        headers: { ...bearer(credential), Accept: 'application/json' },
      })
      if (await isReady(res)) return
      if (now() >= deadline) throw new Error(`compute session ${session.session_uuid} not ready after ${timeoutMs / 1000} s`)
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  }

  function reusable(session: ComputeSession): boolean {
    return (
      !NOT_REUSABLE.has(session.session_status ?? 'unknown') &&
      session.persistent !== true &&
      (options.sessionName === undefined || session.session_name === options.sessionName)
    )
  }

  async function connect(): Promise<ComputeSession> {
    let session: ComputeSession
    if (options.sessionUuid !== undefined) {
      session = await getSession(options.sessionUuid)
    } else {
      session =
        (await listSessions()).find(reusable) ??
        (await createSession(options.sessionName === undefined ? {} : { session_name: options.sessionName }))
    }
    await waitUntilReady(session)
    current = session
    return session
  }

  function session(): WorkerSession {
    if (!current) throw new Error('not connected: call connect() first')
    let validUntil = Number.MAX_VALUE
    if (current.access_token_expires_at !== undefined && !Number.isNaN(Date.parse(current.access_token_expires_at))) {
      validUntil = Date.parse(current.access_token_expires_at)
    } else if (typeof current.access_token_expires_in === 'number') {
      validUntil = now() + current.access_token_expires_in * 1000
    }
    return {
      eyepopUrl: base!,
      accessToken: current.access_token || callerCredential,
      validUntil,
      popId: 'transient',
      baseUrl: current.session_endpoint,
      pipelineId: current.pipeline_uuid,
    }
  }

  async function fetchDataConfig(accountUuid?: string): Promise<DataConfig> {
    const url = `${base}/v1/configs${accountUuid === undefined ? '' : `?account_uuid=${encodeURIComponent(accountUuid)}`}`
    let res = await fetchImpl(url, { headers: bearer(await authenticate()) })
    if (res.status === 401 && options.apiKey !== undefined) {
      await res.body?.cancel()
      token = undefined
      res = await fetchImpl(url, { headers: bearer(await authenticate()) })
    }
    if (res.status !== 200) throw new Error(`Unexpected status ${res.status} fetching configs: ${describeError(await res.text())}`)
    const body = (await res.json()) as { dataset_api_url: string; vlm_api_url: string }
    return {
      datasetApiUrl: new URL(body.dataset_api_url, `${base}/`).href,
      vlmApiUrl: new URL(body.vlm_api_url, `${base}/`).href,
    }
  }

  return { authenticate, listSessions, createSession, getSession, deleteSession, waitUntilReady, connect, session, fetchDataConfig }
}
