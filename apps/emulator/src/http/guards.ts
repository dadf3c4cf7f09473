import { refuseBrowser } from './browser-origin.js'
import type { RouteGuard } from './route-table.js'

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
