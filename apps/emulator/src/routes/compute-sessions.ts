import { randomUUID } from 'node:crypto'
import {
  EYEPOP_SDK_CLIENT_ID,
  issueAccessToken,
  type AccessTokenVerifier,
  type Clock,
  type Keyring,
} from '@eyepop/auth-core'
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { refuseBrowser } from '../http/browser-origin.js'
import { bearerCredential } from '../http/bearer.js'
import { popCors } from '../http/cors.js'
import { AccessDenied, InsufficientScope, InvalidRequest, InvalidToken, NotFoundError, OAuthError } from '../http/errors.js'
import { jsonObjectBody } from '../http/json-body.js'
import { isApiKeyCredential, type TokenService } from '../services/tokens.js'
import { DATASETS_SCOPE, DATA_BASE_PATH } from './data.js'
import { INFERENCE_SCOPE, WORKER_BASE_PATH } from './pops.js'

/** The most compute sessions one account may hold at once. */
export const MAX_SESSIONS_PER_ACCOUNT = 20

/** Where the mock VLM API would live (relative to the emulator's base URL); nothing answers there yet. */
export const VLM_BASE_PATH = '/vlm'

/** A compute session as the 3.x SDKs read it (eyepop-auth-protocol.md §2.2). */
export interface ComputeSessionBody {
  session_uuid: string
  /** The worker base: the mock worker, `{issuer}/worker`. */
  session_endpoint: string
  pipeline_uuid: string
  pipelines: Array<{ pipeline_id: string }>
  session_status: 'running'
  session_message: string
  session_name: string | null
  user_uuid: string
  created_at: string
  /** Nanoseconds since creation (the Python SDK's unit). */
  uptime: number
  pipeline_ttl: null
  pipeline_version: string | null
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
  /** Verifies API keys presented directly as bearer (§2.7). */
  tokens: TokenService
  /** Verifies access tokens (from `/v1/auth/authenticate`, a session, or a temporary key). */
  verify: AccessTokenVerifier
  /** Signs the sessions' access tokens. */
  keyring: Keyring
  /** The issuer: `iss` of the tokens and the base of `session_endpoint`. */
  issuer: string
  /** `aud` of the tokens. */
  audience: string
  /** Lifetime (in seconds) of a session's access token, capped by the credential's own expiry. */
  tokenTtlSeconds: number
  /** The largest JSON body (in bytes) `POST /v1/sessions` reads. */
  maxBodyBytes: number
  /** Whether API keys are accepted from browsers (not recommended). */
  allowBrowserApiKeys: boolean
  /** Browser origins allowed to call these routes (CORS). */
  corsOrigins: readonly string[]
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

interface StoredSession {
  readonly uuid: string
  readonly accountId: string
  readonly pipelineUuid: string
  readonly name: string | null
  readonly pipelineVersion: string | null
  readonly createdAt: number
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function callerOf(res: Response): Caller {
  return res.locals.caller as Caller
}

/** `true`, `false` or absent, case-insensitively (the Python SDK may send `True`). */
function booleanQuery(req: Request, name: string): boolean | undefined {
  const value = req.query[name]
  if (value === undefined) return undefined
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
  throw new InvalidRequest(`${name} must be true or false`)
}

function optionalString(body: Record<string, unknown>, name: string, maxLength: number): string | null {
  const value = body[name]
  if (value === undefined || value === null) return null
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new InvalidRequest(`${name} must be a string of 1 to ${maxLength} characters`)
  }
  return value
}

/**
 * The compute API of the EyePop SDK 3.x (eyepop-auth-protocol.md §2.2, §2.3 and §2.5), backed by
 * the mock worker:
 * - `GET /v1/sessions` → 200 with the account's sessions as a JSON array, or 404 with the JSON
 *   string `"no sessions"` when there are none (both SDKs read that as an empty list);
 * - `POST /v1/sessions?wait=true` (optional JSON body `{session_name, pipeline_image,
 *   pipeline_version, pop}`) → 200 with a JSON array holding the new session; it is running at once;
 * - `GET /v1/sessions/{uuid}` → 200 with the session, 404 when it is unknown or another account's;
 * - `DELETE /v1/sessions/{uuid}` → 204, 404 when already gone;
 * - `GET {session_endpoint}/health` (the mock worker's `/worker/health`) → `{"message": "I'm fine"}`;
 * - `GET /v1/configs` → `{dataset_api_url, vlm_api_url}`, relative to the emulator's base URL.
 *
 * The session routes accept the API key itself as bearer, as the SDKs send it (§2.7), or an access
 * token of it (from `/v1/auth/authenticate`, or a session's own token, which a browser holds after
 * a hand-off). Temporary keys are bound to one Pop and are refused (403). An API key from a browser
 * is refused (403) as on every API-key route. Each session object carries a fresh `access_token`
 * for the worker: an access token of the same API key, narrowed to `access:inference-api` and never
 * outliving the credential that asked. Sessions live in memory and are lost on restart.
 */
export function computeSessionRoutes(deps: ComputeSessionRoutesDeps): Router {
  const router = Router()
  const sessions = new Map<string, StoredSession>()
  const jsonBody = Router().use(...jsonObjectBody(deps.maxBodyBytes))
  const rawBody = express.raw({ type: () => true, limit: deps.maxBodyBytes })
  const sessionEndpoint = `${deps.issuer.replace(/\/+$/, '')}${WORKER_BASE_PATH}`

  router.use(['/v1/sessions', '/v1/configs', `${WORKER_BASE_PATH}/health`], popCors(deps.corsOrigins))

  /**
   * Authenticates the bearer of the session routes:
   * - an API key: verified (format, known, not deleted, not expired), never from a browser;
   * - an access token: verified (signature, expiry, revocation), not a temporary key, with the
   *   `access:inference-api` scope.
   */
  async function authenticateCaller(req: Request, res: Response, next: NextFunction): Promise<void> {
    res.setHeader('Cache-Control', 'no-store')
    const credential = bearerCredential(req)
    if (isApiKeyCredential(credential)) {
      refuseBrowser(req, deps.allowBrowserApiKeys)
      const record = await deps.tokens.authenticateApiKey(credential)
      res.locals.caller = {
        accountId: record.accountId,
        keyId: record.id,
        scopes: [INFERENCE_SCOPE, DATASETS_SCOPE],
        notAfter: record.expiresAt,
      } satisfies Caller
    } else {
      const { claims, scopes } = await deps.verify(credential)
      if (claims.temporary) {
        throw new AccessDenied('a temporary key is bound to its pop and cannot reach compute sessions')
      }
      if (!scopes.includes(INFERENCE_SCOPE)) {
        throw new InsufficientScope(`access token lacks the ${INFERENCE_SCOPE} scope`)
      }
      res.locals.caller = { accountId: claims.sub, keyId: claims.key_id, scopes, notAfter: claims.exp * 1000 } satisfies Caller
    }
    next()
  }

  /** Authenticates the bearer of `/v1/configs`: an access token with `access:datasets`. */
  async function authenticateDataCaller(req: Request, res: Response, next: NextFunction): Promise<void> {
    res.setHeader('Cache-Control', 'no-store')
    const credential = bearerCredential(req)
    if (isApiKeyCredential(credential)) {
      throw new InvalidToken('an api key must first be exchanged for an access token at /v1/auth/authenticate')
    }
    const { claims, scopes } = await deps.verify(credential)
    if (claims.temporary) throw new AccessDenied('a temporary key is bound to its pop and cannot reach the data api')
    if (!scopes.includes(DATASETS_SCOPE)) throw new InsufficientScope(`access token lacks the ${DATASETS_SCOPE} scope`)
    res.locals.caller = { accountId: claims.sub, keyId: claims.key_id, scopes, notAfter: claims.exp * 1000 } satisfies Caller
    next()
  }

  /**
   * Reads a JSON object body when there is one; `POST /v1/sessions` may have none (the Node SDK
   * sends no body and no `Content-Type`). A body without a content type must be empty: a chunked
   * request with nothing in it is still "no body".
   */
  function optionalJsonBody(req: Request, res: Response, next: NextFunction): void {
    if (req.headers['content-length'] === '0') {
      // A JSON content type with nothing after it (a client that always sets its headers).
      req.body = {}
      next()
      return
    }
    if (req.headers['content-type'] !== undefined) {
      ;(jsonBody as unknown as RequestHandler)(req, res, next)
      return
    }
    rawBody(req, res, (err?: unknown) => {
      const raw: unknown = req.body
      if (err === undefined && Buffer.isBuffer(raw) && raw.length > 0) {
        err = new InvalidRequest('request body must be JSON (Content-Type: application/json)')
      }
      req.body = {}
      next(err)
    })
  }

  function ownedSession(req: Request, res: Response): StoredSession {
    const uuid = String(req.params.sessionUuid)
    const session = UUID_RE.test(uuid) ? sessions.get(uuid) : undefined
    // Another account's session is reported exactly like a missing one.
    if (!session || session.accountId !== callerOf(res).accountId) throw new NotFoundError('compute session not found')
    return session
  }

  async function toBody(session: StoredSession, caller: Caller): Promise<ComputeSessionBody> {
    const issued = await issueAccessToken({
      keyring: deps.keyring,
      issuer: deps.issuer,
      audience: deps.audience,
      subject: caller.accountId,
      keyId: caller.keyId,
      clientId: EYEPOP_SDK_CLIENT_ID,
      scopes: [INFERENCE_SCOPE],
      ttlSeconds: deps.tokenTtlSeconds,
      notAfter: caller.notAfter,
      now: deps.now,
    })
    if (issued.expiresIn <= 0) throw new InvalidToken('the credential expires too soon to open a compute session')
    return {
      session_uuid: session.uuid,
      session_endpoint: sessionEndpoint,
      pipeline_uuid: session.pipelineUuid,
      pipelines: [{ pipeline_id: session.pipelineUuid }],
      session_status: 'running',
      session_message: 'running',
      session_name: session.name,
      user_uuid: session.accountId,
      created_at: new Date(session.createdAt).toISOString(),
      uptime: Math.max(0, deps.now() - session.createdAt) * 1_000_000,
      pipeline_ttl: null,
      pipeline_version: session.pipelineVersion,
      session_active: true,
      persistent: false,
      access_token: issued.accessToken,
      access_token_expires_at: new Date(issued.expiresAt).toISOString(),
      access_token_expires_in: issued.expiresIn,
    }
  }

  function sessionsOf(accountId: string): StoredSession[] {
    return [...sessions.values()].filter((s) => s.accountId === accountId)
  }

  router.get('/v1/sessions', authenticateCaller, async function listSessions(_req, res) {
    const caller = callerOf(res)
    const own = sessionsOf(caller.accountId)
    if (own.length === 0) {
      // §2.2: both SDKs read 404 as "no sessions"; their tests answer with this JSON string.
      res.status(404).json('no sessions')
      return
    }
    res.json(await Promise.all(own.map((s) => toBody(s, caller))))
  })

  router.post('/v1/sessions', authenticateCaller, optionalJsonBody, async function createSession(req, res) {
    // `wait=false` is accepted too: a session here is running as soon as it exists.
    booleanQuery(req, 'wait')
    booleanQuery(req, 'transient')
    const body = req.body as Record<string, unknown>
    const name = optionalString(body, 'session_name', 100)
    optionalString(body, 'pipeline_image', 500)
    const pipelineVersion = optionalString(body, 'pipeline_version', 100)
    if (body.pop !== undefined && body.pop !== null && typeof body.pop !== 'string' && (typeof body.pop !== 'object' || Array.isArray(body.pop))) {
      throw new InvalidRequest('pop must be a pop id or a pop definition object')
    }
    const caller = callerOf(res)
    if (sessionsOf(caller.accountId).length >= MAX_SESSIONS_PER_ACCOUNT) {
      throw new OAuthError(409, 'limit_exceeded', `this account has reached its limit of ${MAX_SESSIONS_PER_ACCOUNT} compute sessions; delete one first`)
    }
    const session: StoredSession = {
      uuid: randomUUID(),
      accountId: caller.accountId,
      pipelineUuid: randomUUID(),
      name,
      pipelineVersion,
      createdAt: deps.now(),
    }
    sessions.set(session.uuid, session)
    // §2.2: the SDKs read element [0] of an array, and Node requires exactly 200.
    res.status(200).json([await toBody(session, caller)])
  })

  router.get('/v1/sessions/:sessionUuid', authenticateCaller, async function getSession(req, res) {
    res.json(await toBody(ownedSession(req, res), callerOf(res)))
  })

  router.delete('/v1/sessions/:sessionUuid', authenticateCaller, function deleteSession(req, res) {
    sessions.delete(ownedSession(req, res).uuid)
    res.status(204).end()
  })

  // §2.3: both SDKs count `{"message": …}` without `session_status` as ready.
  router.get(`${WORKER_BASE_PATH}/health`, authenticateCaller, function health(_req, res) {
    res.json({ message: "I'm fine" })
  })

  router.get('/v1/configs', authenticateDataCaller, function configs(req, res) {
    const accountId = req.query.account_uuid
    if (accountId !== undefined) {
      if (typeof accountId !== 'string') throw new InvalidRequest('account_uuid must be a single value')
      if (accountId !== callerOf(res).accountId) throw new AccessDenied('access token does not grant access to this account')
    }
    res.json({ dataset_api_url: DATA_BASE_PATH, vlm_api_url: VLM_BASE_PATH })
  })

  return router
}
