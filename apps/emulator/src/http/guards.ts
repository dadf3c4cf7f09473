import type { IncomingMessage, ServerResponse } from 'node:http'
import helmet from 'helmet'
import { refuseBrowser } from './browser-origin.js'
import type { RouteGuard } from './route-table.js'

/** A middleware of plain `node:http` (helmet's, the rate limits'), which Express accepts too. */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void

/** A guard that runs `middleware`: it goes on when the middleware calls `next()`, refuses on `next(err)`. */
export function middlewareGuard(middleware: NodeMiddleware): RouteGuard {
  return function runMiddleware(req, res) {
    return new Promise((resolve, reject) => {
      middleware(req, res, (err?: unknown) => {
        if (err === undefined) resolve()
        else reject(err)
      })
    })
  }
}

/** A guard: `Cache-Control: no-store` on every answer of the route (tokens, sessions, pages). */
export const noStore: RouteGuard = function noStore(_req, res) {
  res.setHeader('Cache-Control', 'no-store')
}

/**
 * A guard for the routes that take an API key: 403 for a request from a browser, unless `allow`
 * (see {@link refuseBrowser}).
 */
export function refuseBrowsers(allow: boolean): RouteGuard {
  return function refuseBrowsers(req) {
    refuseBrowser(req, allow)
  }
}

/**
 * The security headers of the pages the emulator serves (and of oidc-provider's, on Express):
 * a Content-Security-Policy that allows only the emulator's own scripts, styles and forms, and
 * helmet's other defaults.
 */
export const pageSecurity: NodeMiddleware = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
  },
  // The pages are plain HTTP on loopback by default: no HSTS.
  strictTransportSecurity: false,
})

/** A guard: the pages' security headers ({@link pageSecurity}). */
export const pageHeaders: RouteGuard = middlewareGuard(pageSecurity)
