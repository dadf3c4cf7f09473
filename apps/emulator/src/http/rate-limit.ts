import type { RequestHandler } from 'express'
import { rateLimit, type AugmentedRequest } from 'express-rate-limit'
import { TooManyRequests } from './errors.js'

/** The window of {@link signInStartLimit}. */
const WINDOW_MS = 60_000

/**
 * Which requests start a sign-in and leave state in the store until it expires: the dashboard's
 * login (its pending sign-in), an authorization request (oidc-provider's interaction) and a
 * device authorization (its device code). Not the steps after (`/auth/:uid`, `/interaction/…`).
 */
export function startsSignIn(method: string, path: string): boolean {
  return (
    (path === '/dashboard/login' && method === 'GET') ||
    (path === '/auth' && (method === 'GET' || method === 'POST')) ||
    (path === '/device/auth' && method === 'POST')
  )
}

/**
 * Bounds what anonymous clients can store: each address may start `perMinute` sign-ins a minute
 * (see {@link startsSignIn}); beyond, 429 with `Retry-After` through the error handler. What is
 * stored is then at most `perMinute` × the artifact's lifetime in minutes per address, and every
 * artifact is deleted by the store's periodic purge once it has expired. The counters are in
 * memory, one small entry per address seen in the last minute.
 */
export function signInStartLimit(perMinute: number): RequestHandler {
  const limiter = rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => !startsSignIn(req.method, req.path),
    handler(req, _res, next, options) {
      const resetTime = (req as AugmentedRequest).rateLimit?.resetTime?.getTime() ?? Date.now() + WINDOW_MS
      next(
        new TooManyRequests(
          `too many sign-ins started from this address (at most ${options.limit} a minute); try again later`,
          Math.max(1, Math.ceil((resetTime - Date.now()) / 1000)),
        ),
      )
    },
    // The emulator answers its clients directly (no proxy): the socket address is the client's.
    validate: { trustProxy: false, xForwardedForHeader: false },
  })
  return limiter
}
