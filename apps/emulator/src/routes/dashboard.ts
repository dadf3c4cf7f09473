import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { AccessTokenVerifier } from '@eyepop/auth-core'
import { safeEqual, type DashboardSessions } from '../http/dashboard-session.js'
import { sendRedirect } from '../http/error-handler.js'
import { AccessDenied } from '../http/errors.js'
import { noStore, pageHeaders } from '../http/guards.js'
import { queryOf } from '../http/query.js'
import { defineRoute, type Route, type RouteGuard } from '../http/route-table.js'
import { sendFile } from '../http/static-file.js'
import { DASHBOARD_CLIENT_ID, MANAGE_SCOPE, manageResource } from '../provider/constants.js'

/** The dashboard's pages: all served by one HTML file that routes in the browser. */
const PAGES = ['/dashboard', '/dashboard/keys', '/dashboard/pops', '/dashboard/audit']

/** The origin of the listener a request came in on (the emulator serves plain HTTP). */
function ownOrigin(req: IncomingMessage): string {
  const { localAddress, localPort } = req.socket
  const host = localAddress === undefined ? '127.0.0.1' : localAddress.includes(':') ? `[${localAddress}]` : localAddress
  return `http://${host}:${localPort}`
}

/**
 * The dashboard at `/dashboard`, signed in through the emulator's own OAuth server, the way a
 * backend-for-frontend does it:
 * - `GET /dashboard/login`: starts the authorization code flow with PKCE (S256) and a state bound
 *   to this browser by a short cookie; counted by `signInLimit`, the per-address limit of sign-in
 *   starts;
 * - `GET /dashboard/callback`: checks the state, exchanges the code at the token endpoint (of this
 *   instance, through the listener the callback came in on), verifies the user's access token and
 *   starts a dashboard session (an HttpOnly, SameSite=Lax cookie);
 * - `POST /dashboard/logout` (with the session's CSRF token): ends the dashboard session and the
 *   OAuth server's session, so the next visit asks for the password again;
 * - the pages and their assets (`/dashboard/assets/…`), only to a signed-in browser.
 * Every answer carries the pages' security headers and is never cached.
 */
export function dashboardRoutes(deps: {
  issuer: string
  sessions: DashboardSessions
  verifyUser: AccessTokenVerifier
  dashboardDir: string
  /** The guard of the per-address limit of sign-in starts (`signInStartLimit`). */
  signInLimit: RouteGuard
  fetch?: typeof fetch
}): Route[] {
  const { issuer, sessions } = deps
  const redirectUri = `${issuer}/dashboard/callback`
  const fetchImpl = deps.fetch ?? globalThis.fetch
  const guards = [pageHeaders, noStore]

  const page = (path: string) =>
    defineRoute({
      method: 'GET',
      path,
      guards,
      async handler(req, res) {
        if (!(await sessions.current(req))) {
          sendRedirect(req, res, '/dashboard/login')
          return
        }
        await sendFile(req, res, deps.dashboardDir, 'index.html')
      },
    })

  return [
    defineRoute({
      method: 'GET',
      path: '/dashboard/assets/:file',
      guards,
      handler: (req, res, { params }) => sendFile(req, res, deps.dashboardDir, params.file!),
    }),
    defineRoute({
      method: 'GET',
      path: '/dashboard/login',
      guards: [pageHeaders, deps.signInLimit, noStore],
      async handler(req, res) {
        const codeVerifier = randomBytes(32).toString('base64url')
        const state = await sessions.beginLogin(res, { codeVerifier, returnTo: '/dashboard' })
        const url = new URL(`${issuer}/auth`)
        url.search = new URLSearchParams({
          client_id: DASHBOARD_CLIENT_ID,
          response_type: 'code',
          redirect_uri: redirectUri,
          scope: `openid ${MANAGE_SCOPE}`,
          resource: manageResource(issuer),
          state,
          code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
          code_challenge_method: 'S256',
        }).toString()
        sendRedirect(req, res, url.pathname + url.search)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/dashboard/callback',
      guards,
      async handler(req, res) {
        const { code, state, error } = queryOf(req)
        if (typeof error === 'string' || typeof code !== 'string' || typeof state !== 'string') {
          sendRedirect(req, res, '/dashboard/login')
          return
        }
        const pending = await sessions.finishLogin(req, res, state)
        if (!pending) throw new AccessDenied('sign-in state does not match this browser; start again at /dashboard')
        // At this instance's own listener, not at the issuer: behind a balancer or a port
        // mapping, the issuer is an address the instance may not reach (and another instance may
        // answer it).
        const answer = await fetchImpl(`${ownOrigin(req)}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: redirectUri,
            client_id: DASHBOARD_CLIENT_ID,
            code_verifier: pending.codeVerifier,
          }),
          signal: AbortSignal.timeout(5000),
        })
        if (answer.status !== 200) throw new AccessDenied('sign-in failed: the authorization code was refused')
        const { access_token: accessToken } = (await answer.json()) as { access_token?: unknown }
        if (typeof accessToken !== 'string') throw new AccessDenied('sign-in failed: no access token')
        const { claims } = await deps.verifyUser(accessToken)
        await sessions.start(res, claims.sub)
        sendRedirect(req, res, pending.returnTo)
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/dashboard/logout',
      guards,
      // The page's form: its CSRF token, nothing more.
      body: { kind: 'form', limit: 4096, fields: 5, optional: true },
      async handler(req, res, { body }) {
        const session = await sessions.current(req)
        const csrf = body.csrf
        if (session && (typeof csrf !== 'string' || !safeEqual(csrf, session.csrfToken))) {
          throw new AccessDenied('csrf token is missing or invalid')
        }
        // The OAuth server's session ends too, so the next sign-in asks for the password.
        await sessions.end(req, res)
        sendRedirect(req, res, '/dashboard')
      },
    }),
    ...PAGES.map(page),
  ]
}
