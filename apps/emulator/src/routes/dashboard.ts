import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { AccessTokenVerifier } from '@eyepop/auth-core'
import express, { Router } from 'express'
import { safeEqual, type DashboardSessions } from '../http/dashboard-session.js'
import { AccessDenied } from '../http/errors.js'
import { DASHBOARD_CLIENT_ID, MANAGE_SCOPE, manageResource } from '../provider/constants.js'

/** The dashboard's pages: all served by one HTML file that routes in the browser. */
const PAGES = ['/dashboard', '/dashboard/keys', '/dashboard/pops', '/dashboard/audit']

/**
 * The dashboard at `/dashboard`, signed in through the emulator's own OAuth server, the way a
 * backend-for-frontend does it:
 * - `GET /dashboard/login`: starts the authorization code flow with PKCE (S256) and a state bound
 *   to this browser by a short cookie;
 * - `GET /dashboard/callback`: checks the state, exchanges the code at the token endpoint, verifies
 *   the user's access token and starts a dashboard session (an HttpOnly, SameSite=Lax cookie);
 * - `POST /dashboard/logout` (with the session's CSRF token): ends the dashboard session and the
 *   OAuth server's session, so the next visit asks for the password again;
 * - the pages and their assets (`/dashboard/assets/…`), only to a signed-in browser.
 */
export function dashboardRoutes(deps: {
  issuer: string
  sessions: DashboardSessions
  verifyUser: AccessTokenVerifier
  dashboardDir: string
  fetch?: typeof fetch
}): Router {
  // The emulator's one matching rule: exact, case-sensitive paths (see http/route-table.ts).
  const router = Router({ caseSensitive: true, strict: true })
  const { issuer, sessions } = deps
  const redirectUri = `${issuer}/dashboard/callback`
  const fetchImpl = deps.fetch ?? globalThis.fetch

  router.use('/dashboard', function noStore(_req, res, next) {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })
  router.use('/dashboard/assets', express.static(deps.dashboardDir, { index: false, fallthrough: false }))

  router.get('/dashboard/login', async function login(_req, res) {
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
    res.redirect(303, url.pathname + url.search)
  })

  router.get('/dashboard/callback', async function callback(req, res) {
    const { code, state, error } = req.query
    if (typeof error === 'string' || typeof code !== 'string' || typeof state !== 'string') {
      res.redirect(303, '/dashboard/login')
      return
    }
    const pending = await sessions.finishLogin(req, res, state)
    if (!pending) throw new AccessDenied('sign-in state does not match this browser; start again at /dashboard')
    const answer = await fetchImpl(`${issuer}/token`, {
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
    res.redirect(303, pending.returnTo)
  })

  router.post(
    '/dashboard/logout',
    express.urlencoded({ extended: false, limit: 4096, parameterLimit: 5 }),
    async function logout(req, res) {
      const session = await sessions.current(req)
      const csrf = (req.body as Record<string, unknown> | undefined)?.csrf
      if (session && (typeof csrf !== 'string' || !safeEqual(csrf, session.csrfToken))) {
        throw new AccessDenied('csrf token is missing or invalid')
      }
      // The OAuth server's session ends too, so the next sign-in asks for the password.
      await sessions.end(req, res)
      res.redirect(303, '/dashboard')
    },
  )

  router.get(PAGES, async function page(req, res) {
    if (!(await sessions.current(req))) {
      res.redirect(303, '/dashboard/login')
      return
    }
    res.sendFile(join(deps.dashboardDir, 'index.html'))
  })

  return router
}
