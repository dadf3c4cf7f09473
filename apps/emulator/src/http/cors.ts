import type { IncomingMessage, ServerResponse } from 'node:http'

/** Whether `origin` matches one of `patterns` (exact origins, or `scheme://host:*` for any port). */
export function originMatches(origin: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (!pattern.endsWith(':*')) return pattern === origin
    const prefix = pattern.slice(0, -1)
    return origin === pattern.slice(0, -2) || (origin.startsWith(prefix) && /^\d{1,5}$/.test(origin.slice(prefix.length)))
  })
}

/** The methods and headers the EyePop SDK uses cross-origin. */
const ALLOW_METHODS = 'GET,POST,PATCH,DELETE'
const ALLOW_HEADERS = 'Authorization,Content-Type,Accept'
/** How long (in seconds) a browser may keep a preflight's answer. */
const MAX_AGE_SECONDS = '600'

/**
 * CORS for the routes a browser calls with a temporary key (the route table's `cors` routes): a
 * request from an allowed origin gets `Access-Control-Allow-Origin`, and its preflight (when
 * `preflight`) is answered 204 with the methods and headers the EyePop SDK uses. Other origins get
 * no CORS headers, so the browser blocks them. Credentials (cookies) are never allowed: the bearer
 * token is the credential.
 *
 * @returns whether the request was a preflight it answered
 */
export function answerCors(req: IncomingMessage, res: ServerResponse, patterns: readonly string[], preflight: boolean): boolean {
  const origin = req.headers.origin
  // A request without `Origin` is not a CORS request.
  if (origin === undefined || !originMatches(origin, patterns)) return false
  res.setHeader('Access-Control-Allow-Origin', origin)
  res.setHeader('Vary', 'Origin')
  if (!preflight) return false
  res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS)
  res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS)
  res.setHeader('Access-Control-Max-Age', MAX_AGE_SECONDS)
  res.statusCode = 204
  res.setHeader('Content-Length', '0')
  res.end()
  return true
}
