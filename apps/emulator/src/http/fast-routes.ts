import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { ErrorResponder } from './error-handler.js'
import { InvalidRequest } from './errors.js'
import { requestPath } from './request-path.js'

/** A route handler on plain `node:http`: it answers, or throws for the error responder. */
export type NodeRouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

/**
 * A route served by {@link withFastRoutes} and, the same way, by the Express app, which mounts
 * `handle` as it is (Express 5 passes what it throws or rejects with to the error handler).
 */
export interface FastRoute {
  readonly method: 'GET' | 'POST'
  /** An exact path, or one with `:name` segments (Express syntax), found in `req.params`. */
  readonly path: string
  readonly handle: NodeRouteHandler
  /**
   * Leaves requests with an `Origin` header (CORS requests) to Express, which answers them with
   * the same handler and its CORS headers.
   */
  readonly corsThroughExpress?: boolean
}

/**
 * Mounts `routes` on an Express app or router, with the same handlers {@link withFastRoutes}
 * serves: the one declaration of a hot route gives both.
 */
export function mountFastRoutes(router: { get: (path: string, handle: NodeRouteHandler) => unknown; post: (path: string, handle: NodeRouteHandler) => unknown }, routes: readonly FastRoute[]): void {
  for (const route of routes) {
    if (route.method === 'GET') router.get(route.path, route.handle)
    else router.post(route.path, route.handle)
  }
}

/** A `:name` segment on the fast path: ids only; anything else (a %-escape) goes to Express. */
const PARAM_SEGMENT = '([A-Za-z0-9_-]{1,128})'

interface ParamRoute {
  readonly method: string
  readonly pattern: RegExp
  readonly names: readonly string[]
  readonly run: (req: IncomingMessage, res: ServerResponse) => void
  readonly corsThroughExpress: boolean
}

/** Runs `handle`, sending anything it throws to `respond`. */
function guarded(handle: NodeRouteHandler, respond: ErrorResponder): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    try {
      const done = handle(req, res)
      if (done) done.catch((err: unknown) => respond(err, req, res))
    } catch (err) {
      respond(err, req, res)
    }
  }
}

/**
 * A request listener that answers the hottest routes (the token routes every SDK calls) straight
 * from `node:http`, without Express's routing and response helpers, and hands every other request
 * to `fallback` (the Express app). Only an exact method and path match here (the query aside;
 * `:name` segments take ids only); anything else (another case, a trailing slash, HEAD, a
 * %-escape) reaches the same handler through Express.
 */
export function withFastRoutes(routes: readonly FastRoute[], respond: ErrorResponder, fallback: RequestListener): RequestListener {
  const exact = new Map<string, { run: (req: IncomingMessage, res: ServerResponse) => void; corsThroughExpress: boolean }>()
  const withParams: ParamRoute[] = []
  for (const route of routes) {
    const run = guarded(route.handle, respond)
    const corsThroughExpress = route.corsThroughExpress ?? false
    if (!route.path.includes('/:')) {
      exact.set(`${route.method} ${route.path}`, { run, corsThroughExpress })
      continue
    }
    const names: string[] = []
    const source = route.path
      .split('/')
      .map((segment) => {
        if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        names.push(segment.slice(1))
        return PARAM_SEGMENT
      })
      .join('/')
    withParams.push({ method: route.method, pattern: new RegExp(`^${source}$`), names, run, corsThroughExpress })
  }
  return function dispatch(req, res) {
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a bad request.
    if (req.headers.host === undefined && req.httpVersionMinor >= 1) {
      respond(new InvalidRequest('the Host header is required'), req, res)
      return
    }
    const path = requestPath(req)
    const cors = req.headers.origin !== undefined
    const found = exact.get(`${req.method} ${path}`)
    if (found && !(cors && found.corsThroughExpress)) {
      found.run(req, res)
      return
    }
    for (const route of withParams) {
      if (route.method !== req.method || (cors && route.corsThroughExpress)) continue
      const match = route.pattern.exec(path)
      if (!match) continue
      const params: Record<string, string> = {}
      route.names.forEach((name, i) => (params[name] = match[i + 1]!))
      ;(req as IncomingMessage & { params: Record<string, string> }).params = params
      route.run(req, res)
      return
    }
    fallback(req, res)
  }
}
