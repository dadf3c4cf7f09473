import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import {
  createAuthenticator,
  type AccessTokenVerifier,
  type VerifiedAccessToken,
} from '@eyepop/auth-core'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { AccessDenied, InvalidRequest } from '../http/errors.js'
import { sendEmpty, sendJson, toOAuthError } from '../http/error-handler.js'
import { queryOf } from '../http/query.js'
import { requestPath } from '../http/request-path.js'
import { answerOnSocket } from '../http/socket-answer.js'
import { defineRoute, type Route } from '../http/route-table.js'
import { toErrorBody } from '../http/to-error-body.js'
import { WORKER_BASE_PATH } from './pops.js'

/** The path of the mock data API, given to the SDK as a relative `base_url`. */
export const DATA_BASE_PATH = '/data'
/** The scope the data API needs. */
export const DATASETS_SCOPE = 'access:datasets'

/** WebSocket close codes (RFC 6455 §7.4.1). */
const POLICY_VIOLATION = 1008
const INTERNAL_ERROR = 1011
const TRY_AGAIN_LATER = 1013
const INVALID_PAYLOAD = 1007

/** How long a new socket has to send its authorization frame. */
const AUTH_TIMEOUT_MS = 5_000

/** The paths of the events WebSocket: Node's SDKs join `events` to the data API's URL, Python's resolve it. */
export const EVENTS_PATHS = [`${DATA_BASE_PATH}/events`, '/events'] as const

/** The largest request trace (in bytes) `POST /events` takes. */
const MAX_TRACE_BYTES = 1024 * 1024

/**
 * The data endpoint the EyePop SDK's `dataEndpoint()` connects to:
 * - `GET /data/config?account_uuid=…` → `{base_url: "/data"}` (an access token with
 *   `access:datasets`, of that account; never a temporary key, which reaches its Pop only);
 * - `GET /data/security/check?set_cookie=true` → 204;
 * - the events WebSocket, at `/data/events` and `/events` (see {@link eventsSocket});
 * - `POST /events` (and `{session_endpoint}/events`, where it sends them with an API key: it takes the
 *   session endpoint for its base URL): the request traces of the Python SDK (a flatbuffer of
 *   timings), taken with any valid access token and discarded (204).
 */
export function dataRoutes(deps: { verify: AccessTokenVerifier }): Route[] {
  // A temporary key reaches its Pop and nothing else: the data API is about no Pop (`pop: null`
  // refuses it with 403, whatever scopes it carries).
  const authenticate = createAuthenticator({ verify: deps.verify, scopes: [DATASETS_SCOPE], pop: () => null })
  const authenticateAny = createAuthenticator({ verify: deps.verify, pop: () => null })
  /** Takes a request trace and discards it. */
  const discardTrace = (path: string, cors: boolean) =>
    defineRoute({
      method: 'POST',
      path,
      cors,
      authorize: authenticateAny,
      body: { kind: 'raw', limit: MAX_TRACE_BYTES },
      handler(_req, res) {
        sendEmpty(res, 204)
      },
    })

  return [
    discardTrace('/events', false),
    // Under the worker's path, a CORS route as the worker's others.
    discardTrace(`${WORKER_BASE_PATH}/events`, true),
    defineRoute({
      method: 'GET',
      path: `${DATA_BASE_PATH}/config`,
      cors: true,
      authorize: authenticate,
      handler(req, res, { auth }) {
        const accountId = queryOf(req).account_uuid
        if (accountId !== undefined && accountId !== 'null' && accountId !== auth.accountId) {
          if (typeof accountId !== 'string') throw new InvalidRequest('account_uuid must be a single value')
          throw new AccessDenied('access token does not grant access to this account')
        }
        sendJson(res, 200, { base_url: DATA_BASE_PATH })
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${DATA_BASE_PATH}/security/check`,
      cors: true,
      authorize: authenticate,
      handler(_req, res) {
        sendEmpty(res, 204)
      },
    }),
  ]
}

/** Closes a socket with a reason that fits a close frame (at most 123 bytes). */
function closeWith(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, Buffer.from(reason).subarray(0, 123).toString())
}

/**
 * Closes a socket for an error, answered as on every HTTP route (the one error mapping,
 * `toOAuthError`, and the one serializer): `error: description`, with 1013 (try again later) for a
 * 503, 1011 for a server failure (no detail), 1008 (policy violation) for a refusal.
 */
function closeWithError(ws: WebSocket, err: unknown): void {
  const httpError = toOAuthError(err)
  const { error, error_description: description } = toErrorBody(httpError)
  const code = httpError.status === 503 ? TRY_AGAIN_LATER : httpError.status >= 500 ? INTERNAL_ERROR : POLICY_VIOLATION
  closeWith(ws, code, `${error}: ${description}`)
}

/** The `/data/events` WebSocket, attached to the HTTP server's `upgrade` event. */
export interface EventsSocket {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Closes every socket and stops re-checking tokens. */
  close(): void
}

/**
 * The events WebSocket (at each of {@link EVENTS_PATHS}). Its first frame must be `{"authorization": "Bearer <token>"}`
 * within 5 seconds; a token that does not verify (or lacks `access:datasets`) closes the socket
 * with 1008 and a reason such as `invalid_token: access token has expired`. Subscriptions must name
 * the token's own account. Open sockets are re-checked every `recheckMs`, so a socket whose token
 * expires or whose API key is deleted is closed within that time. Bounded: at most
 * `maxSockets` sockets in all (503 beyond) and `maxSocketsPerAccount` authenticated ones per account
 * (1008 beyond).
 */
export function eventsSocket(deps: {
  verify: AccessTokenVerifier
  recheckMs: number
  maxSockets: number
  maxSocketsPerAccount: number
}): EventsSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  const authenticated = new Map<WebSocket, string>()
  const perAccount = new Map<string, number>()

  async function check(token: string): Promise<VerifiedAccessToken> {
    const verified = await deps.verify(token)
    if (verified.claims.temporary) throw new AccessDenied('a temporary key is bound to its pop and cannot reach the data api')
    if (!verified.scopes.includes(DATASETS_SCOPE)) throw new AccessDenied(`access token lacks the ${DATASETS_SCOPE} scope`)
    return verified
  }

  wss.on('connection', (ws: WebSocket) => {
    let accountId: string | undefined
    const timer = setTimeout(() => closeWith(ws, POLICY_VIOLATION, 'invalid_request: send the authorization frame first'), AUTH_TIMEOUT_MS)
    ws.on('close', () => {
      clearTimeout(timer)
      authenticated.delete(ws)
      if (accountId !== undefined) {
        const open = (perAccount.get(accountId) ?? 1) - 1
        if (open === 0) perAccount.delete(accountId)
        else perAccount.set(accountId, open)
      }
    })
    ws.on('error', () => ws.terminate())
    // Frames are handled one after another: a subscription sent right behind the authorization
    // frame waits for the token check.
    let queue = Promise.resolve()
    ws.on('message', (data, isBinary) => {
      queue = queue.then(() => handleFrame(data, isBinary)).catch(() => ws.terminate())
    })
    async function handleFrame(data: RawData, isBinary: boolean): Promise<void> {
      if (ws.readyState !== ws.OPEN) return
      let frame: Record<string, unknown>
      try {
        if (isBinary) throw new Error('binary')
        frame = JSON.parse(data.toString()) as Record<string, unknown>
        if (typeof frame !== 'object' || frame === null) throw new Error('not an object')
      } catch {
        closeWith(ws, INVALID_PAYLOAD, 'invalid_request: frames must be JSON objects')
        return
      }
      if (accountId === undefined) {
        const header = frame.authorization
        const match = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header) : null
        if (!match) {
          closeWith(ws, POLICY_VIOLATION, 'invalid_request: the first frame must be {"authorization": "Bearer <token>"}')
          return
        }
        try {
          const { claims } = await check(match[1]!)
          clearTimeout(timer)
          if ((perAccount.get(claims.sub) ?? 0) >= deps.maxSocketsPerAccount) {
            closeWith(ws, POLICY_VIOLATION, `access_denied: this account has ${deps.maxSocketsPerAccount} open event sockets, its limit`)
            return
          }
          accountId = claims.sub
          perAccount.set(accountId, (perAccount.get(accountId) ?? 0) + 1)
          authenticated.set(ws, match[1]!)
        } catch (err) {
          closeWithError(ws, err)
        }
        return
      }
      const subscribe = frame.subscribe as Record<string, unknown> | undefined
      if (subscribe && 'account_uuid' in subscribe && subscribe.account_uuid !== null && subscribe.account_uuid !== accountId) {
        closeWith(ws, POLICY_VIOLATION, 'access_denied: cannot subscribe to another account')
      }
    }
  })

  const recheck = setInterval(() => {
    for (const [ws, token] of authenticated) {
      check(token).catch((err: unknown) => {
        authenticated.delete(ws)
        closeWithError(ws, err)
      })
    }
  }, deps.recheckMs)
  recheck.unref()

  return {
    handleUpgrade(req, socket, head) {
      // Not `new URL`: it throws on a target such as `//`, and nothing catches an `upgrade` listener.
      const path = requestPath(req)
      if (!(EVENTS_PATHS as readonly string[]).includes(path)) {
        answerOnSocket(socket, '404 Not Found', 'not_found', 'no websocket at this path')
        return
      }
      if (wss.clients.size >= deps.maxSockets) {
        answerOnSocket(socket, '503 Service Unavailable', 'temporarily_unavailable', `${deps.maxSockets} event sockets are open, the limit`, 'Retry-After: 5\r\n')
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
    },
    close() {
      clearInterval(recheck)
      for (const ws of wss.clients) ws.terminate()
      wss.close()
    },
  }
}
