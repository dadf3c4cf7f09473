import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { answerCors } from './cors.js'
import type { ErrorResponder } from './error-handler.js'
import { InvalidRequest, OAuthError } from './errors.js'
import { requestPath } from './request-path.js'

/** The methods routes are declared for (a `GET` route answers `HEAD` too). */
export type RouteMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** The `:name` segments of a route's path, %-decoded. */
export type RouteParams = Readonly<Record<string, string>>

/**
 * A route handler on plain `node:http`: it answers, or throws (rejects) for the one error
 * responder. Its guards (`authenticate(req)`, `bearerCredential(req)`) and body readers (each with
 * its size limit) are the calls it starts with, in the order they check.
 */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: RouteParams) => Promise<void> | void

/** One route, declared once: the listener and the Express app both answer it from here. */
export interface Route {
  readonly method: RouteMethod
  /**
   * The exact path, matched case-sensitively and without a trailing slash; a `:name` segment
   * matches one non-empty segment, %-decoded into `params.name`.
   */
  readonly path: string
  readonly handler: RouteHandler
  /**
   * Browsers from the allowed origins (`corsOrigins`) may call it: its preflights are answered and
   * its answers carry `Access-Control-Allow-Origin`. Default is `false`.
   */
  readonly cors?: boolean
  /**
   * Answered inside the Express app, behind the pages' security headers (the management API),
   * instead of by the listener before Express. Default is `false`.
   */
  readonly behindPages?: boolean
}

/** A route compiled for matching. */
interface CompiledRoute {
  readonly route: Route
  /** The path's segments; `null` where a `:name` segment goes. */
  readonly segments: readonly (string | null)[]
  readonly names: readonly string[]
}

/** What {@link createRouteTable} gives: the dispatcher of its routes, for the listener and Express. */
export interface RouteTable {
  /** Every route, in declaration order. */
  readonly routes: readonly Route[]
  /** The paths of the routes with `cors`: where preflights are answered. */
  readonly corsPaths: readonly string[]
  /** Whether `path` is a CORS route's path (by the one matching rule). */
  isCorsPath(path: string): boolean
  /**
   * Answers a request if one of the routes `where` selects matches it (its method and path, or a
   * CORS preflight to one of their paths), and says whether it did.
   */
  dispatch(req: IncomingMessage, res: ServerResponse, where?: RouteSelection): boolean
  /**
   * A request listener: the routes answered before Express (all but `behindPages`), anything else
   * to `fallback` (the Express app).
   */
  listener(fallback: RequestListener): RequestListener
  /**
   * The Express middleware of the routes `where` selects: the same dispatch, `next()` for anything
   * else. Mounted once per selection, so no route has an Express layer of its own.
   */
  middleware(where: RouteSelection): (req: IncomingMessage, res: ServerResponse, next: () => void) => void
}

/** Which routes a dispatch answers: those before Express, or those behind the pages' headers. */
export type RouteSelection = 'listener' | 'behindPages'

/** Options of {@link createRouteTable}. */
export interface RouteTableOptions {
  /** Answers what a handler throws (the one error mapping, `errorResponder`). */
  respond: ErrorResponder
  /** Browser origins allowed on the CORS routes (`scheme://host:*` for any port). */
  corsOrigins: readonly string[]
}

function compile(route: Route): CompiledRoute {
  if (!route.path.startsWith('/') || (route.path.length > 1 && route.path.endsWith('/'))) {
    throw new TypeError(`route path "${route.path}" must start with / and not end with one`)
  }
  const names: string[] = []
  const segments = route.path
    .slice(1)
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment
      names.push(segment.slice(1))
      return null
    })
  return { route, segments, names }
}

/** The params of `parts` (a path split at `/`) if `compiled` matches it, else `undefined`. */
function matchPath(compiled: CompiledRoute, parts: readonly string[]): Record<string, string> | undefined {
  const { segments } = compiled
  if (parts.length !== segments.length) return undefined
  let params: Record<string, string> | undefined
  let n = 0
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]
    const part = parts[i]!
    if (segment !== null) {
      if (segment !== part) return undefined
      continue
    }
    if (part === '') return undefined
    params ??= {}
    params[compiled.names[n++]!] = part
  }
  return params ?? {}
}

/** %-decodes the params of a matched route (as Express does), 400 for a malformed escape. */
function decodeParams(params: Record<string, string>): RouteParams {
  for (const name in params) {
    const value = params[name]!
    if (!value.includes('%')) continue
    try {
      params[name] = decodeURIComponent(value)
    } catch (err) {
      throw new OAuthError(400, 'invalid_request', 'request is malformed', { cause: err })
    }
  }
  return params
}

const NO_PARAMS: RouteParams = Object.freeze({})

/**
 * The emulator's route table: one declaration per route gives the listener's dispatch (before
 * Express, without building Express's request and response), the Express app's mounts and the
 * CORS paths, all with one matching rule: the exact path (the query aside), case-sensitive, no
 * trailing slash, `:name` segments %-decoded. A `GET` route answers `HEAD`; `OPTIONS` on a CORS
 * route's path is its preflight.
 *
 * @throws {TypeError} when two routes have the same method and path, or a path is malformed
 * @example
 * ```ts
 * const table = createRouteTable([{ method: 'GET', path: '/healthz', handler: (_req, res) => sendJson(res, 200, { status: 'ok' }) }], { respond, corsOrigins })
 * http.createServer(table.listener(app))
 * ```
 */
export function createRouteTable(routes: readonly Route[], options: RouteTableOptions): RouteTable {
  const { respond, corsOrigins } = options
  /** Routes without params by `METHOD path`, looked up first (the hot routes are all of this kind). */
  const exact = new Map<string, CompiledRoute>()
  const withParams: CompiledRoute[] = []
  const corsRoutes: CompiledRoute[] = []
  const seen = new Set<string>()
  for (const route of routes) {
    const compiled = compile(route)
    const shape = `${route.method} /${compiled.segments.map((s) => s ?? ':').join('/')}`
    if (seen.has(shape)) throw new TypeError(`route ${route.method} ${route.path} is declared twice`)
    seen.add(shape)
    if (compiled.names.length === 0) exact.set(`${route.method} ${route.path}`, compiled)
    else withParams.push(compiled)
    if (route.cors === true) corsRoutes.push(compiled)
  }
  const corsPaths = [...new Set(corsRoutes.map((c) => c.route.path))]

  const selected = (route: Route, where: RouteSelection) => (route.behindPages === true) === (where === 'behindPages')

  /** The route and params for `method` and `path`, if any (params still %-encoded). */
  function find(method: string, path: string, where: RouteSelection): [CompiledRoute, Record<string, string> | undefined] | undefined {
    const lookup = method === 'HEAD' ? 'GET' : method
    const found = exact.get(`${lookup} ${path}`)
    if (found) return selected(found.route, where) ? [found, undefined] : undefined
    let parts: string[] | undefined
    for (const compiled of withParams) {
      if (compiled.route.method !== lookup || !selected(compiled.route, where)) continue
      parts ??= path.slice(1).split('/')
      const params = matchPath(compiled, parts)
      if (params) return [compiled, params]
    }
    return undefined
  }

  function corsRouteAt(path: string, where?: RouteSelection): CompiledRoute | undefined {
    if (corsRoutes.length === 0 || !path.startsWith('/')) return undefined
    const parts = path.slice(1).split('/')
    return corsRoutes.find((c) => (where === undefined || selected(c.route, where)) && matchPath(c, parts) !== undefined)
  }

  function run(compiled: CompiledRoute, rawParams: Record<string, string> | undefined, req: IncomingMessage, res: ServerResponse): void {
    try {
      const params = rawParams === undefined ? NO_PARAMS : decodeParams(rawParams)
      if (compiled.route.cors === true && req.headers.origin !== undefined) answerCors(req, res, corsOrigins, false)
      const done = compiled.route.handler(req, res, params)
      if (done) done.catch((err: unknown) => respond(err, req, res))
    } catch (err) {
      respond(err, req, res)
    }
  }

  function dispatch(req: IncomingMessage, res: ServerResponse, where: RouteSelection = 'listener'): boolean {
    const path = requestPath(req)
    const method = req.method ?? 'GET'
    if (method === 'OPTIONS') {
      // A preflight from an allowed origin to a CORS route; anything else is left to Express.
      return corsRouteAt(path, where) !== undefined && answerCors(req, res, corsOrigins, true)
    }
    const found = find(method, path, where)
    if (!found) return false
    run(found[0], found[1], req, res)
    return true
  }

  return {
    routes,
    corsPaths,
    isCorsPath: (path) => corsRouteAt(path) !== undefined,
    dispatch,
    listener(fallback) {
      return function listen(req, res) {
        // RFC 9112 §3.2: an HTTP/1.1 request without Host is a bad request.
        if (req.headers.host === undefined && req.httpVersionMinor >= 1) {
          respond(new InvalidRequest('the Host header is required'), req, res)
          return
        }
        if (!dispatch(req, res, 'listener')) fallback(req, res)
      }
    },
    middleware(where) {
      return function routeTable(req, res, next) {
        if (!dispatch(req, res, where)) next()
      }
    },
  }
}
