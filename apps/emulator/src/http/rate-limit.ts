import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { ipKeyGenerator } from 'express-rate-limit'
import { TooManyRequests } from './errors.js'
import type { NodeMiddleware } from './guards.js'
import { requestPath } from './request-path.js'

/** The window of {@link signInStartLimit}. */
const WINDOW_MS = 60_000

/**
 * Which requests start a sign-in and leave state in the store until it expires: the dashboard's
 * login (its pending sign-in), an authorization request (oidc-provider's interaction) and a
 * device authorization (its device code). Not the steps after (`/auth/:uid`, `/interaction/…`).
 * A `HEAD` of the dashboard's login starts one as its `GET` does (a `GET` route answers `HEAD`).
 */
export function startsSignIn(method: string, path: string): boolean {
  return (
    (path === '/dashboard/login' && (method === 'GET' || method === 'HEAD')) ||
    (path === '/auth' && (method === 'GET' || method === 'POST')) ||
    (path === '/device/auth' && method === 'POST')
  )
}

/**
 * The key a limit counts a client under: its socket's address (the emulator answers its clients
 * directly, no proxy), an IPv6 one by its /56, as express-rate-limit counts them.
 */
function clientKey(req: IncomingMessage): string {
  return ipKeyGenerator(req.socket.remoteAddress ?? 'unknown')
}

/** The partition key of a client in `RateLimit-Policy`, as express-rate-limit writes it. */
function partitionKey(key: string): string {
  return Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64')
}

/**
 * Bounds what anonymous clients can store: each address may start `perMinute` sign-ins a minute
 * (see {@link startsSignIn}); beyond, 429 with `Retry-After` through the error responder. What is
 * stored is then at most `perMinute` × the artifact's lifetime in minutes per address, and every
 * artifact is deleted by the store's periodic purge once it has expired. The counters are in
 * memory, one small entry per address seen in the last minute.
 *
 * A middleware of plain `node:http`: one limit for every route that starts a sign-in, the
 * dashboard's login (a route-table guard, through `middlewareGuard`) and oidc-provider's (on the
 * Express app) counting together. Each counted answer carries the `RateLimit` and
 * `RateLimit-Policy` headers (IETF draft 8), as express-rate-limit's `standardHeaders: 'draft-8'`
 * writes them; the window starts at an address's first start.
 */
export function signInStartLimit(perMinute: number): NodeMiddleware {
  const clients = new Map<string, { hits: number; resetAt: number }>()
  const sweeper = setInterval(() => {
    const now = Date.now()
    for (const [key, client] of clients) if (client.resetAt <= now) clients.delete(key)
  }, WINDOW_MS)
  sweeper.unref()
  const name = `"${perMinute}-in-1min"`

  return function signInStartLimit(req, res, next) {
    if (!startsSignIn(req.method ?? 'GET', requestPath(req))) {
      next()
      return
    }
    const key = clientKey(req)
    const now = Date.now()
    let client = clients.get(key)
    if (client === undefined || client.resetAt <= now) {
      client = { hits: 0, resetAt: now + WINDOW_MS }
      clients.set(key, client)
    }
    client.hits++
    const resetSeconds = Math.max(0, Math.ceil((client.resetAt - now) / 1000))
    if (!res.headersSent) {
      res.appendHeader('RateLimit', `${name}; r=${Math.max(perMinute - client.hits, 0)}; t=${resetSeconds}`)
      res.appendHeader('RateLimit-Policy', `${name}; q=${perMinute}; w=${WINDOW_MS / 1000}; pk=:${partitionKey(key)}:`)
    }
    if (client.hits <= perMinute) {
      next()
      return
    }
    next(
      new TooManyRequests(
        `too many sign-ins started from this address (at most ${perMinute} a minute); try again later`,
        Math.max(1, resetSeconds),
      ),
    )
  }
}
