import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { answerCors } from './cors.js'
import type { ErrorResponder } from './error-handler.js'
import { InvalidRequest, OAuthError } from './errors.js'
import { checkDeclaredBody, formReader, jsonObjectReader, optionalJsonObjectReader, rawReader } from './json-body.js'
import { requestPath } from './request-path.js'
import { readUpload, type UploadSummary } from './upload.js'

/** The methods routes are declared for (a `GET` route answers `HEAD` too). */
export type RouteMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** The `:name` segments of a route's path, %-decoded. */
export type RouteParams = Readonly<Record<string, string>>

/**
 * A check or a header every request to a route gets before it is authorized: it sets headers (a
 * page's, `no-store`) or refuses the request by throwing (rejecting) for the one error responder.
 */
export type RouteGuard = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

/**
 * The body a route reads, and at most how many bytes of it (`limit`); each is refused with 400
 * `invalid_request` as its reader says (`http/json-body.ts`, `http/upload.ts`):
 * - `none`: nothing is read, but a declared `Content-Length` over `limit` is refused;
 * - `json`: a JSON object (`optional`: no body at all, or `Content-Length: 0`, reads as `{}`);
 * - `form`: a form-encoded body of at most `fields` fields (`optional`, a page's form: a request
 *   that is not form-encoded reads as `{}`);
 * - `raw`: any bytes, whatever their content type;
 * - `upload`: an image, a video or a multipart form, read and discarded (its summary is the body).
 */
export type RouteBody =
  | { readonly kind: 'none'; readonly limit: number }
  | { readonly kind: 'json'; readonly limit: number; readonly optional?: boolean }
  | { readonly kind: 'form'; readonly limit: number; readonly fields: number; readonly optional?: boolean }
  | { readonly kind: 'raw'; readonly limit: number }
  | { readonly kind: 'upload'; readonly limit: number }

/** What a {@link RouteBody} reads into. */
export type BodyOf<B> = B extends { readonly kind: 'json' | 'form' }
  ? Record<string, unknown>
  : B extends { readonly kind: 'raw' }
    ? Buffer
    : B extends { readonly kind: 'upload' }
      ? UploadSummary
      : undefined

/** What a handler is given besides the request and the response. */
export interface RouteInput<A = unknown, B = RouteBody | undefined> {
  readonly params: RouteParams
  /** What the route's `authorize` resolved to (`undefined` without one). */
  readonly auth: A
  /** The body the route declared, read (`undefined` for none). */
  readonly body: BodyOf<B>
}

/**
 * One route, declared once: the listener and the Express app both answer it from here. A request
 * that matches it goes through, in this order, each step refusing it by throwing for the one error
 * responder:
 * 1. its params are %-decoded (400 for a malformed escape);
 * 2. `cors`: an allowed origin gets `Access-Control-Allow-Origin`;
 * 3. `guards`, in their order (headers, the refusal of browsers, a rate limit, the wait for
 *    oidc-provider);
 * 4. `authorize`: who calls and what they may reach, before any body is read;
 * 5. `body`: read (or its declared length checked) within its limit;
 * 6. `handler`, given the params, what `authorize` resolved to and the body.
 *
 * A route that declares none of 3 to 5 and has no params is called with one shared input: nothing
 * is allocated for it per request. Declare routes that have `authorize` or `body` with
 * {@link defineRoute}, which types the handler's input from them.
 */
export interface Route<A = unknown, B extends RouteBody | undefined = RouteBody | undefined> {
  readonly method: RouteMethod
  /**
   * The exact path, matched case-sensitively and without a trailing slash; a `:name` segment
   * matches one non-empty segment, %-decoded into `params.name`.
   */
  readonly path: string
  /**
   * Browsers from the allowed origins (`corsOrigins`) may call it: its preflights are answered and
   * its answers carry `Access-Control-Allow-Origin`. Default is `false`.
   */
  readonly cors?: boolean
  /** Run first, in order (see {@link RouteGuard}). */
  readonly guards?: readonly RouteGuard[]
  /**
   * Authenticates the caller (and may find what it names, so that nothing is read for a request
   * refused anyway); its result is the handler's `auth`.
   */
  authorize?(req: IncomingMessage, params: RouteParams): A | Promise<A>
  /** The body the route reads, with its limit. Default: none is read or checked. */
  readonly body?: B
  /** Answers, or throws (rejects) for the one error responder. */
  handler(req: IncomingMessage, res: ServerResponse, input: RouteInput<A, B>): Promise<void> | void
}

/**
 * A route whose handler's input is typed from its `authorize` and `body` (the identity function).
 *
 * @example
 * ```ts
 * defineRoute({ method: 'POST', path: '/v1/auth/authenticate', authorize: bearerCredential, body: { kind: 'none', limit: 65536 }, handler: (_req, res, { auth }) => … })
 * ```
 */
export function defineRoute<A = undefined, const B extends RouteBody | undefined = undefined>(route: Route<A, B>): Route<A, B> {
  return route
}

/** A route compiled for matching. */
interface CompiledRoute {
  readonly route: Route
  /** Reads the declared body, if any (at once when it reads nothing). */
  readonly readBody: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined
  /** Whether the route declares no guard, `authorize` or body: its handler is called at once. */
  readonly plain: boolean
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
   * Answers a request if one of the routes matches it (its method and path, or a CORS preflight
   * to one of their paths), and says whether it did.
   */
  dispatch(req: IncomingMessage, res: ServerResponse): boolean
  /** A request listener: the routes answered before Express, anything else to `fallback` (the Express app). */
  listener(fallback: RequestListener): RequestListener
  /**
   * The Express middleware of the routes: the same dispatch, `next()` for anything else. Mounted
   * once, so no route has an Express layer of its own.
   */
  middleware(): (req: IncomingMessage, res: ServerResponse, next: () => void) => void
}

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
  const readBody = route.body === undefined ? undefined : bodyReader(route.body)
  const plain = route.guards === undefined && route.authorize === undefined && readBody === undefined
  return { route, segments, names, readBody, plain }
}

/** The reader of a declared body. */
function bodyReader(body: RouteBody): (req: IncomingMessage, res: ServerResponse) => unknown {
  switch (body.kind) {
    case 'none':
      return (req) => checkDeclaredBody(req, body.limit)
    case 'json':
      return body.optional === true ? optionalJsonObjectReader(body.limit) : jsonObjectReader(body.limit)
    case 'form':
      return formReader(body.limit, body.fields, body.optional === true)
    case 'raw':
      return rawReader(body.limit)
    case 'upload':
      return readUpload(body.limit)
  }
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
/** The input of a route without params that declares nothing. */
const NO_INPUT: RouteInput<undefined, undefined> = Object.freeze({ params: NO_PARAMS, auth: undefined, body: undefined })

/** Steps 3 to 6 of a route that declares guards, `authorize` or a body (see {@link Route}). */
async function runDeclared(compiled: CompiledRoute, params: RouteParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { route, readBody } = compiled
  if (route.guards !== undefined) {
    for (const guard of route.guards) {
      const checked = guard(req, res)
      if (checked !== undefined) await checked
    }
  }
  // What is settled already (a bearer read from a header, a declared length checked) is not awaited.
  let auth = route.authorize?.(req, params)
  if (auth instanceof Promise) auth = await auth
  let body = readBody?.(req, res)
  if (body instanceof Promise) body = await body
  await route.handler(req, res, { params, auth, body: body as BodyOf<RouteBody | undefined> })
}

/**
 * The emulator's route table: one declaration per route gives the listener's dispatch (before
 * Express, without building Express's request and response), the Express app's one mount and the
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

  /** The route and params for `method` and `path`, if any (params still %-encoded). */
  function find(method: string, path: string): [CompiledRoute, Record<string, string> | undefined] | undefined {
    const lookup = method === 'HEAD' ? 'GET' : method
    const found = exact.get(`${lookup} ${path}`)
    if (found) return [found, undefined]
    let parts: string[] | undefined
    for (const compiled of withParams) {
      if (compiled.route.method !== lookup) continue
      parts ??= path.slice(1).split('/')
      const params = matchPath(compiled, parts)
      if (params) return [compiled, params]
    }
    return undefined
  }

  function corsRouteAt(path: string): CompiledRoute | undefined {
    if (corsRoutes.length === 0 || !path.startsWith('/')) return undefined
    const parts = path.slice(1).split('/')
    return corsRoutes.find((c) => matchPath(c, parts) !== undefined)
  }

  function run(compiled: CompiledRoute, rawParams: Record<string, string> | undefined, req: IncomingMessage, res: ServerResponse): void {
    try {
      const params = rawParams === undefined ? NO_PARAMS : decodeParams(rawParams)
      if (compiled.route.cors === true && req.headers.origin !== undefined) answerCors(req, res, corsOrigins, false)
      const done = compiled.plain
        ? compiled.route.handler(req, res, params === NO_PARAMS ? NO_INPUT : { params, auth: undefined, body: undefined })
        : runDeclared(compiled, params, req, res)
      if (done) done.catch((err: unknown) => respond(err, req, res))
    } catch (err) {
      respond(err, req, res)
    }
  }

  function dispatch(req: IncomingMessage, res: ServerResponse): boolean {
    const path = requestPath(req)
    const method = req.method ?? 'GET'
    if (method === 'OPTIONS') {
      // A preflight from an allowed origin to a CORS route; anything else is left to Express.
      return corsRouteAt(path) !== undefined && answerCors(req, res, corsOrigins, true)
    }
    const found = find(method, path)
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
        if (!dispatch(req, res)) fallback(req, res)
      }
    },
    middleware() {
      return function routeTable(req, res, next) {
        if (!dispatch(req, res)) next()
      }
    },
  }
}
