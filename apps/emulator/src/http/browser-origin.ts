import type { IncomingMessage } from 'node:http'
import { OAuthError } from './errors.js'

/** Whether a request comes from a browser page: browsers send `Origin` (or `Sec-Fetch-Site`) on it. */
export function isBrowserRequest(req: IncomingMessage): boolean {
  return req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined
}

/** 403 for an API key sent from a browser. */
export class ApiKeyFromBrowser extends OAuthError {
  constructor() {
    super(
      403,
      'access_denied',
      'api keys belong on servers: this request came from a browser; mint a temporary key on your server and hand it to the browser instead',
    )
  }
}

/**
 * Refuses a request from a browser on a route that takes an API key, unless `allow` is set: an API
 * key in a web page is readable by anyone who opens it.
 *
 * @throws {ApiKeyFromBrowser}
 */
export function refuseBrowser(req: IncomingMessage, allow: boolean): void {
  if (!allow && isBrowserRequest(req)) throw new ApiKeyFromBrowser()
}
