import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { RequestHandler } from 'express'
import type { ErrorResponder } from './error-handler.js'

/** A route handler on plain `node:http`: it answers, or throws for the error responder. */
export type NodeRouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

/** A route served by {@link withFastRoutes} and, the same way, by the Express app. */
export interface FastRoute {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly handle: NodeRouteHandler
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

/** The route as Express middleware (for the app and for supertest): the same code, the same answers. */
export function expressRoute(route: FastRoute, respond: ErrorResponder): RequestHandler {
  const run = guarded(route.handle, respond)
  return function fastRoute(req, res) {
    run(req, res)
  }
}

/**
 * A request listener that answers the hottest routes (the token routes every SDK calls) straight
 * from `node:http`, without Express's routing and response helpers, and hands every other request
 * to `fallback` (the Express app). Only an exact method and path match here (the query aside);
 * anything else (another case, a trailing slash, HEAD) reaches the same handler through Express.
 */
export function withFastRoutes(routes: readonly FastRoute[], respond: ErrorResponder, fallback: RequestListener): RequestListener {
  const table = new Map(routes.map((route) => [`${route.method} ${route.path}`, guarded(route.handle, respond)]))
  return function dispatch(req, res) {
    const url = req.url ?? ''
    const query = url.indexOf('?')
    const run = table.get(`${req.method} ${query === -1 ? url : url.slice(0, query)}`)
    if (run) run(req, res)
    else fallback(req, res)
  }
}
