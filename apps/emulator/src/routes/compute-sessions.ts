import type { AccessTokenVerifier, Clock } from '@eyepop/auth-core'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ParsedUrlQuery } from 'node:querystring'
import { refuseBrowser } from '../http/browser-origin.js'
import { bearerCredential } from '../http/bearer.js'
import { sendEmpty, sendJson } from '../http/error-handler.js'
import { AccessDenied, InsufficientScope, InvalidRequest, InvalidTarget, InvalidToken, NotFoundError } from '../http/errors.js'
import { noStore } from '../http/guards.js'
import { queryOf } from '../http/query.js'
import { defineRoute, type Route, type RouteInput } from '../http/route-table.js'
import type { ComputeSession, ComputeSessions } from '../services/compute-sessions.js'
import { isApiKeyCredential, type TokenService } from '../services/tokens.js'
import { DATASETS_SCOPE, DATA_BASE_PATH } from './data.js'
import { INFERENCE_SCOPE, WORKER_BASE_PATH } from './pops.js'
import type { PopRecord } from '../store/types.js'

/** Where the mock VLM API would live (relative to the emulator's base URL); nothing answers there yet. */
export const VLM_BASE_PATH = '/vlm'

/**
 * A compute session as the 3.x SDKs read it (eyepop-auth-protocol.md §2.2 and section B): every
 * string the Python SDK's model types as `str` is a string, never `null`.
 */
export interface ComputeSessionBody {
  session_uuid: string
  /** The worker base: the mock worker, `{issuer}/worker`. */
  session_endpoint: string
  /** The session's own pipeline on the worker, where the SDKs send their jobs. */
  pipeline_uuid: string
  pipelines: Array<{ id: string; pipeline_id: string }>
  session_status: 'running'
  session_message: string
  /** The name asked for, or `''`. */
  session_name: string
  user_uuid: string
  created_at: string
  /** Nanoseconds since creation (the Python SDK's unit). */
  uptime: number
  pipeline_ttl: null
  /** The pipeline version asked for, or `''`. */
  pipeline_version: string
  session_active: true
  persistent: false
  /** A token for the session's worker calls: inference only, never outliving the credential. */
  access_token: string
  /** ISO-8601 expiry of `access_token`. */
  access_token_expires_at: string
  /** Seconds until `access_token` expires. */
  access_token_expires_in: number
}

/** What the routes need of the emulator. */
export interface ComputeSessionRoutesDeps {
  /** Verifies API keys presented directly as bearer (§2.7) and issues the sessions' tokens. */
  tokens: TokenService
  /** Verifies access tokens (from `/v1/auth/authenticate`, a session, or a temporary key). */
  verify: AccessTokenVerifier
  /** The live compute sessions. */
  sessions: ComputeSessions
  /** Finds a Pop, for a session opened on one of the account's Pops. */
  findPop: (id: string) => Promise<PopRecord | undefined>
  /** The issuer: the base of `session_endpoint`. */
  issuer: string
  /** The largest JSON body (in bytes) `POST /v1/sessions` reads. */
  maxBodyBytes: number
  /** Whether API keys are accepted from browsers (not recommended). */
  allowBrowserApiKeys: boolean
  now: Clock
}

/** Who is calling, from the bearer credential. */
interface Caller {
  accountId: string
  keyId: string
  /** The caller's scopes. */
  scopes: readonly string[]
  /** The latest time (ms) a token minted for the caller may live to; `null` for no limit. */
  notAfter: number | null
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** `true`, `false` or absent, case-insensitively (the Python SDK may send `True`). */
function booleanQuery(query: ParsedUrlQuery, name: string): boolean | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
  throw new InvalidRequest(`${name} must be true or false`)
}

/** A string field of the body, `''` when absent. */
function optionalString(body: Record<string, unknown>, name: string, maxLength: number): string {
  const value = body[name]
  if (value === undefined || value === null) return ''
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new InvalidRequest(`${name} must be a string of 1 to ${maxLength} characters`)
  }
  return value
}

/**
 * The compute API of the EyePop SDK 3.x (eyepop-auth-protocol.md §2.2, §2.3, §2.5 and section B),
 * backed by the mock worker:
 * - `GET /v1/sessions` → 200 with the account's live sessions as a JSON array, `[]` when there are
 *   none (the Python SDK fails on a 404 here);
 * - `POST /v1/sessions?wait=true[&transient=true]` (optional JSON body `{session_name,
 *   pipeline_image, pipeline_version, pop}`) → 200 with a JSON array holding the new session; it is
 *   running at once, its pipeline (`pipeline_uuid`) exists on the worker and answers the SDKs' jobs;
 * - `GET /v1/sessions/{uuid}` → 200 with the session, 404 when it has ended or is another account's;
 * - `DELETE /v1/sessions/{uuid}` → 204, 404 when already gone;
 * - `GET {session_endpoint}/health` (the mock worker's `/worker/health`) → `{"message": "I'm fine"}`;
 * - `GET /v1/configs` (and `/configs`, where the Python SDK looks without an API key) →
 *   `{dataset_api_url, vlm_api_url}`, relative to the emulator's base URL.
 *
 * The session routes accept the API key itself as bearer, as the SDKs send it (§2.7), or an access
 * token of it (from `/v1/auth/authenticate`, or a session's own token, which a browser holds after
 * a hand-off). Temporary keys are bound to one Pop and are refused (403). An API key from a browser
 * is refused (403) as on every API-key route. Each session object carries a fresh `access_token`
 * for the worker: an access token of the same API key, narrowed to `access:inference-api` and never
 * outliving the credential that asked. Sessions live in memory and end as
 * `services/compute-sessions.ts` says.
 */
export function computeSessionRoutes(deps: ComputeSessionRoutesDeps): Route[] {
  const { sessions } = deps
  const sessionEndpoint = `${deps.issuer.replace(/\/+$/, '')}${WORKER_BASE_PATH}`
  /** Every answer of these routes is about one caller and holds tokens: never cached. */
  const guards = [noStore]

  /**
   * Authenticates the bearer of the session routes:
   * - an API key: verified (format, known, not deleted, not expired), never from a browser;
   * - an access token: verified (signature, expiry, revocation), not a temporary key, with the
   *   `access:inference-api` scope.
   */
  async function authenticateCaller(req: IncomingMessage): Promise<Caller> {
    const credential = bearerCredential(req)
    if (isApiKeyCredential(credential)) {
      refuseBrowser(req, deps.allowBrowserApiKeys)
      const record = await deps.tokens.authenticateApiKey(credential)
      return {
        accountId: record.accountId,
        keyId: record.id,
        scopes: [INFERENCE_SCOPE, DATASETS_SCOPE],
        notAfter: record.expiresAt,
      }
    }
    const { claims, scopes } = await deps.verify(credential)
    if (claims.temporary) {
      throw new AccessDenied('a temporary key is bound to its pop and cannot reach compute sessions')
    }
    if (!scopes.includes(INFERENCE_SCOPE)) {
      throw new InsufficientScope(`access token lacks the ${INFERENCE_SCOPE} scope`)
    }
    return { accountId: claims.sub, keyId: claims.key_id, scopes, notAfter: claims.exp * 1000 }
  }

  /** Authenticates the bearer of `/v1/configs`: an access token with `access:datasets`. */
  async function authenticateDataCaller(req: IncomingMessage): Promise<Caller> {
    const credential = bearerCredential(req)
    if (isApiKeyCredential(credential)) {
      throw new InvalidToken('an api key must first be exchanged for an access token at /v1/auth/authenticate')
    }
    const { claims, scopes } = await deps.verify(credential)
    if (claims.temporary) throw new AccessDenied('a temporary key is bound to its pop and cannot reach the data api')
    if (!scopes.includes(DATASETS_SCOPE)) throw new InsufficientScope(`access token lacks the ${DATASETS_SCOPE} scope`)
    return { accountId: claims.sub, keyId: claims.key_id, scopes, notAfter: claims.exp * 1000 }
  }

  function ownedSession(uuid: string, caller: Caller): ComputeSession {
    const session = UUID_RE.test(uuid) ? sessions.find(caller.accountId, uuid, true) : undefined
    // Another account's session is reported exactly like a missing one.
    if (!session) throw new NotFoundError('compute session not found')
    return session
  }

  async function toBody(session: ComputeSession, caller: Caller, now: number): Promise<ComputeSessionBody> {
    const issued = await deps.tokens.issueSessionToken(caller)
    return {
      session_uuid: session.uuid,
      session_endpoint: sessionEndpoint,
      pipeline_uuid: session.pipelineId,
      pipelines: [{ id: session.pipelineId, pipeline_id: session.pipelineId }],
      session_status: 'running',
      session_message: 'running',
      session_name: session.name,
      user_uuid: session.accountId,
      created_at: new Date(session.createdAt).toISOString(),
      uptime: Math.max(0, now - session.createdAt) * 1_000_000,
      pipeline_ttl: null,
      pipeline_version: session.pipelineVersion,
      session_active: true,
      persistent: false,
      access_token: issued.accessToken,
      access_token_expires_at: new Date(issued.expiresAt).toISOString(),
      access_token_expires_in: issued.expiresIn,
    }
  }

  /** The `pop` of a new session: a pipeline definition, or the id of one of the account's Pops. */
  async function popOf(body: Record<string, unknown>, accountId: string): Promise<{ pop: unknown; popId: string | null }> {
    const pop = body.pop
    if (pop === undefined || pop === null) return { pop: null, popId: null }
    if (typeof pop === 'string') {
      const found = /^[0-9a-f]{32}$/.test(pop) ? await deps.findPop(pop) : undefined
      // Another account's Pop is reported exactly like a missing one.
      if (!found || found.accountId !== accountId) throw new InvalidTarget('pop not found')
      return { pop: { components: [] }, popId: found.id }
    }
    if (typeof pop !== 'object' || Array.isArray(pop)) {
      throw new InvalidRequest('pop must be a pop id or a pop definition object')
    }
    return { pop, popId: null }
  }

  /** `/v1/configs` and `/configs` (section B: without an API key the Python SDK reads `/configs`). */
  const configs = (path: string) =>
    defineRoute({ method: 'GET', path, cors: true, guards, authorize: authenticateDataCaller, handler: answerConfigs })
  function answerConfigs(req: IncomingMessage, res: ServerResponse, { auth: caller }: RouteInput<Caller, undefined>): void {
    const accountId = queryOf(req).account_uuid
    if (accountId !== undefined) {
      if (typeof accountId !== 'string') throw new InvalidRequest('account_uuid must be a single value')
      if (accountId !== caller.accountId) throw new AccessDenied('access token does not grant access to this account')
    }
    sendJson(res, 200, { dataset_api_url: DATA_BASE_PATH, vlm_api_url: VLM_BASE_PATH })
  }

  return [
    defineRoute({
      method: 'GET',
      path: '/v1/sessions',
      cors: true,
      guards,
      authorize: authenticateCaller,
      async handler(_req, res, { auth: caller }) {
        const at = deps.now()
        // Section B: `[]` when there are none; the Python SDK raises on a 404 before reading it.
        sendJson(res, 200, await Promise.all(sessions.list(caller.accountId).map((s) => toBody(s, caller, at))))
      },
    }),
    // The body is optional: the Node SDK sends none and no `Content-Type`.
    defineRoute({
      method: 'POST',
      path: '/v1/sessions',
      cors: true,
      guards,
      authorize: authenticateCaller,
      body: { kind: 'json', limit: deps.maxBodyBytes, optional: true },
      async handler(req, res, { auth: caller, body }) {
        // `wait=false` is accepted too: a session here is running as soon as it exists. Every
        // session here is transient (the Python SDK says so with `transient=true`).
        const query = queryOf(req)
        booleanQuery(query, 'wait')
        booleanQuery(query, 'transient')
        const name = optionalString(body, 'session_name', 100)
        optionalString(body, 'pipeline_image', 500)
        const pipelineVersion = optionalString(body, 'pipeline_version', 100)
        const { pop, popId } = await popOf(body, caller.accountId)
        const session = sessions.open(caller.accountId, { name, pipelineVersion, pop, popId })
        // §2.2: the SDKs read element [0] of an array, and Node requires exactly 200.
        sendJson(res, 200, [await toBody(session, caller, session.createdAt)])
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/sessions/:sessionUuid',
      cors: true,
      guards,
      authorize: authenticateCaller,
      async handler(_req, res, { params, auth: caller }) {
        sendJson(res, 200, await toBody(ownedSession(params.sessionUuid!, caller), caller, deps.now()))
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/sessions/:sessionUuid',
      cors: true,
      guards,
      authorize: authenticateCaller,
      handler(_req, res, { params, auth: caller }) {
        sessions.end(caller.accountId, ownedSession(params.sessionUuid!, caller).uuid)
        sendEmpty(res, 204)
      },
    }),
    // §2.3: both SDKs count `{"message": …}` without `session_status` as ready.
    defineRoute({
      method: 'GET',
      path: `${WORKER_BASE_PATH}/health`,
      cors: true,
      guards,
      authorize: authenticateCaller,
      handler(_req, res) {
        sendJson(res, 200, { message: "I'm fine" })
      },
    }),
    configs('/v1/configs'),
    configs('/configs'),
  ]
}
