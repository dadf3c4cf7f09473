/**
 * Faults a test makes the emulator answer on its next requests to a route: an error status (with
 * the body and headers the route would send for it), a delay, or a dropped connection.
 *
 * @module
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { sendError } from '../http/error-handler.js'
import {
  AccessDenied,
  InvalidClient,
  InvalidRequest,
  InvalidToken,
  NotFoundError,
  OAuthError,
  TemporarilyUnavailable,
  TooManyRequests,
} from '../http/errors.js'

/** What the next request(s) to a route get. */
export interface Fault {
  /**
   * Answer with this status (400 to 599) instead of the route's: the error body and headers the
   * emulator sends for it (`invalid_client` with its challenge for a 401 on a token route,
   * `invalid_token` elsewhere, `Retry-After` on 429 and 503…). Without it, the route answers.
   */
  status?: number
  /** A JSON body to send instead of the default one (with `status`). */
  body?: unknown
  /** Wait this long (ms) before answering (or dropping). */
  delayMs?: number
  /** Close the connection without an answer (a reset, as a crashed server would). */
  drop?: boolean
  /** How many consecutive requests get the fault. Default is 1. */
  count?: number
}

/** A fault as registered: its route and how many requests it still applies to. */
export interface PendingFault extends Omit<Fault, 'count'> {
  /** The route as given, e.g. `POST /v1/auth/authenticate` or `GET /pops/{popId}/config`. */
  readonly route: string
  /** How many more requests get it. */
  remaining: number
}

/** The faults of an emulator (see {@link createFaultPlan}). */
export interface FaultPlan {
  /**
   * Makes the next `count` requests (default `fault.count`, else 1) to `route` fail as `fault`
   * says. `route` is a method and a path: `POST /v1/auth/authenticate`; `{name}` matches one path
   * segment (`GET /pops/{popId}/config`), a final `*` any rest (`GET /v1/sessions*`). Faults on
   * one route apply in the order they were added.
   *
   * @throws {TypeError} when the route or the fault is malformed
   */
  next(route: string, fault: Fault, count?: number): void
  /** The faults not yet used up, in order. */
  pending(): PendingFault[]
  /** Drops every fault not yet used. */
  clear(): void
  /** The fault for this request, if any, counted as used. */
  take(method: string, path: string): PendingFault | undefined
}

const ROUTE_RE = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\/\S*)$/

function patternOf(path: string): RegExp {
  const rest = path.endsWith('*')
  const body = (rest ? path.slice(0, -1) : path)
    .split(/(\{[^/{}]+\})/)
    .map((part) => (/^\{[^/{}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('')
  return new RegExp(`^${body}${rest ? '.*' : ''}$`)
}

/** A fault plan: empty until a test adds to it. */
export function createFaultPlan(): FaultPlan {
  let faults: Array<PendingFault & { method: string; pattern: RegExp }> = []
  return {
    next(route, fault, count = fault.count ?? 1) {
      const match = typeof route === 'string' ? ROUTE_RE.exec(route.trim()) : null
      if (!match) throw new TypeError('route must be a method and a path, e.g. "POST /v1/auth/authenticate"')
      if (!Number.isInteger(count) || count < 1) throw new TypeError('count must be an integer of at least 1')
      const { status, body, delayMs, drop } = fault
      if (status !== undefined && (!Number.isInteger(status) || status < 400 || status > 599)) {
        throw new TypeError('status must be an integer from 400 to 599')
      }
      if (delayMs !== undefined && (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 60_000)) {
        throw new TypeError('delayMs must be a number of milliseconds from 0 to 60000')
      }
      if (drop !== undefined && typeof drop !== 'boolean') throw new TypeError('drop must be a boolean')
      if (body !== undefined && status === undefined) throw new TypeError('body needs a status')
      if (status === undefined && delayMs === undefined && !drop) {
        throw new TypeError('a fault needs a status, a delayMs or drop')
      }
      faults.push({
        route: `${match[1]} ${match[2]}`,
        method: match[1]!,
        pattern: patternOf(match[2]!),
        remaining: count,
        ...(status !== undefined && { status }),
        ...(body !== undefined && { body }),
        ...(delayMs !== undefined && { delayMs }),
        ...(drop && { drop }),
      })
    },
    pending() {
      return faults.map(({ method: _method, pattern: _pattern, ...fault }) => ({ ...fault }))
    },
    clear() {
      faults = []
    },
    take(method, path) {
      const index = faults.findIndex((f) => f.method === method && f.pattern.test(path))
      if (index === -1) return undefined
      const fault = faults[index]!
      fault.remaining -= 1
      if (fault.remaining === 0) faults.splice(index, 1)
      const { method: _method, pattern: _pattern, ...taken } = fault
      return taken
    },
  }
}

/** Whether `path` is a token route, where a refused credential is the client's (`invalid_client`). */
function isTokenRoute(path: string): boolean {
  return path === '/token' || path.startsWith('/v1/auth/') || path.startsWith('/v1/access_token')
}

/** The error the emulator answers with for `status` on `path`. */
function errorOf(status: number, path: string): OAuthError {
  const description = 'injected fault'
  switch (status) {
    case 400:
      return new InvalidRequest(description)
    case 401:
      return isTokenRoute(path) ? new InvalidClient(description) : new InvalidToken(description)
    case 403:
      return new AccessDenied(description)
    case 404:
      return new NotFoundError(description)
    case 429:
      return new TooManyRequests(description, 1)
    case 503:
      return new TemporarilyUnavailable(description)
    default:
      return status >= 500
        ? new OAuthError(status, 'server_error', description, { expose: false })
        : new OAuthError(status, 'invalid_request', description)
  }
}

function answer(fault: PendingFault, path: string, res: ServerResponse): void {
  const err = errorOf(fault.status!, path)
  if (fault.body === undefined) {
    sendError(res, err)
    return
  }
  const text = JSON.stringify(fault.body)
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds))
  res.writeHead(fault.status!, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

/**
 * `handler` with the faults of `plan` applied first: a request that matches a pending fault waits
 * `delayMs`, then is dropped, answered with the fault's status, or passed on to `handler`.
 */
export function withFaults(plan: FaultPlan, handler: RequestListener): RequestListener {
  return function faultyHandler(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?', 1)[0]!
    const fault = plan.take(req.method ?? 'GET', path)
    if (!fault) {
      handler(req, res)
      return
    }
    const apply = () => {
      if (fault.drop) req.socket.destroy()
      else if (fault.status !== undefined) answer(fault, path, res)
      else handler(req, res)
    }
    if (fault.delayMs) setTimeout(apply, fault.delayMs).unref()
    else apply()
  }
}
