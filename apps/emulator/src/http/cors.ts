import cors from 'cors'
import type { RequestHandler } from 'express'

/** Whether `origin` matches one of `patterns` (exact origins, or `scheme://host:*` for any port). */
export function originMatches(origin: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (!pattern.endsWith(':*')) return pattern === origin
    const prefix = pattern.slice(0, -1)
    return origin === pattern.slice(0, -2) || (origin.startsWith(prefix) && /^\d{1,5}$/.test(origin.slice(prefix.length)))
  })
}

/**
 * CORS for the routes a browser calls with a temporary key (the Pop and data routes): preflights
 * from allowed origins get the methods and headers the EyePop SDK uses; other origins get no CORS
 * headers, so the browser blocks them. Credentials (cookies) are never allowed: the bearer token is
 * the credential.
 */
export function popCors(patterns: readonly string[]): RequestHandler {
  const handler = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && originMatches(origin, patterns)),
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Accept'],
    maxAge: 600,
    credentials: false,
  }) as RequestHandler
  // A request without `Origin` is not a CORS request: cors would add nothing to it.
  return function popCorsHandler(req, res, next) {
    if (req.headers.origin === undefined) next()
    else handler(req, res, next)
  }
}
