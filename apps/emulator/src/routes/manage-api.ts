import {
  isAuthCoreError,
  type AccessTokenVerifier,
} from '@eyepop/auth-core'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { bearerCredential } from '../http/bearer.js'
import { safeEqual, type DashboardSessions } from '../http/dashboard-session.js'
import { sendEmpty, sendJson } from '../http/error-handler.js'
import { AccessDenied, InsufficientScope, InvalidRequest, NotFoundError, OAuthError } from '../http/errors.js'
import { noStore, pageHeaders } from '../http/guards.js'
import { queryOf } from '../http/query.js'
import { defineRoute, type Route, type RouteBody, type RouteInput } from '../http/route-table.js'
import { MANAGE_SCOPE } from '../provider/constants.js'
import type { Services } from '../services/services.js'
import { isApiKeyCredential } from '../services/tokens.js'

/** Who is calling the management API. */
interface Manager {
  accountId: string
  /** Set when the caller is a cookie session: the token the page must echo on changes. */
  csrfToken?: string
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The key-management REST API under `/api/v1` (documented in `/openapi.json`): keys, Pops and the
 * audit log of the caller's account. The caller is either
 * - a signed-in dashboard session (cookie), whose changes must carry its CSRF token in
 *   `X-CSRF-Token` and, when the browser sends one, a same-origin `Origin`; or
 * - a signed-in user's access token (`Authorization: Bearer`, scope `manage:keys`), from the
 *   dashboard sign-in or `eyepop-emulator login`.
 * API keys, their access tokens and temporary keys are refused with 403: they run Pops, they do
 * not manage keys. Another account's keys and Pops are answered 404, like missing ones. The routes
 * carry the pages' security headers and are never cached.
 */
export function manageApiRoutes(deps: {
  issuer: string
  sessions: DashboardSessions
  verifyUser: AccessTokenVerifier
  verify: AccessTokenVerifier
  services: Services
  maxBodyBytes: number
}): Route[] {
  const { services } = deps
  const issuerOrigin = new URL(deps.issuer).origin
  const json = { kind: 'json', limit: deps.maxBodyBytes } as const
  const guards = [pageHeaders, noStore]

  /**
   * Authenticates the caller:
   * - a bearer: a signed-in user's access token with `manage:keys` (API keys and their tokens 403);
   * - else a dashboard session cookie, and for a change its CSRF token and a same-origin `Origin`.
   */
  async function authenticate(req: IncomingMessage): Promise<Manager> {
    if (req.headers.authorization !== undefined) {
      const credential = bearerCredential(req)
      if (isApiKeyCredential(credential)) {
        throw new AccessDenied('api keys cannot manage keys: sign in to the dashboard or use a signed-in user token')
      }
      try {
        const { claims, scopes } = await deps.verifyUser(credential)
        if (!scopes.includes(MANAGE_SCOPE)) throw new InsufficientScope(`access token lacks the ${MANAGE_SCOPE} scope`)
        return { accountId: claims.sub }
      } catch (err) {
        if (isAuthCoreError(err) && (await deps.verify(credential).then(() => true, () => false))) {
          throw new AccessDenied('access tokens from api keys and temporary keys cannot manage keys')
        }
        throw err
      }
    }
    const session = await deps.sessions.current(req)
    if (!session) {
      throw new OAuthError(401, 'invalid_request', 'sign in to the dashboard or send a signed-in user access token', {
        challenge: 'Bearer realm="eyepop"',
      })
    }
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      const origin = req.headers.origin
      const csrf = req.headers['x-csrf-token']
      if ((origin !== undefined && origin !== issuerOrigin) || typeof csrf !== 'string' || !safeEqual(csrf, session.csrfToken)) {
        throw new AccessDenied('csrf token is missing or invalid: send the X-CSRF-Token of your session')
      }
    }
    return { accountId: session.accountId, csrfToken: session.csrfToken }
  }

  /** A management route: the pages' headers, never cached, authenticated, then `handler` (with the body `body` declares). */
  function route<const B extends RouteBody | undefined = undefined>(
    method: Route['method'],
    path: string,
    handler: (req: IncomingMessage, res: ServerResponse, input: RouteInput<Manager, B>) => Promise<void>,
    body?: B,
  ): Route<Manager, B> {
    return defineRoute({ method, path, guards, authorize: authenticate, ...(body !== undefined && { body }), handler })
  }

  return [
    route('GET', '/api/v1/session', async (_req, res, { auth: manager }) => {
      const account = await deps.services.accounts.get(manager.accountId)
      if (!account) throw new NotFoundError('account not found')
      sendJson(res, 200, {
        account: { id: account.id, email: account.email, name: account.name },
        ...(manager.csrfToken && { csrfToken: manager.csrfToken }),
      })
    }),
    route('GET', '/api/v1/keys', async (_req, res, { auth: manager }) => {
      sendJson(res, 200, { keys: await services.keys.list(manager.accountId) })
    }),
    route('POST', '/api/v1/keys', async (_req, res, { auth: manager, body }) => {
      sendJson(res, 201, await services.keys.create(manager.accountId, { name: body.name, expires: body.expires }))
    }, json),
    route('GET', '/api/v1/keys/:id', async (_req, res, { auth: manager, params }) => {
      sendJson(res, 200, await services.keys.get(manager.accountId, params.id!))
    }),
    route('DELETE', '/api/v1/keys/:id', async (_req, res, { auth: manager, params }) => {
      await services.keys.delete(manager.accountId, params.id!)
      sendEmpty(res, 204)
    }),
    route('GET', '/api/v1/pops', async (_req, res, { auth: manager }) => {
      sendJson(res, 200, { pops: await services.pops.list(manager.accountId) })
    }),
    route('POST', '/api/v1/pops', async (_req, res, { auth: manager, body }) => {
      sendJson(res, 201, await services.pops.create(manager.accountId, { name: body.name }))
    }, json),
    route('GET', '/api/v1/pops/:id', async (_req, res, { auth: manager, params }) => {
      const pop = await services.pops.find(params.id!)
      if (!pop || pop.accountId !== manager.accountId) throw new NotFoundError('pop not found')
      sendJson(res, 200, { id: pop.id, name: pop.name, createdAt: new Date(pop.createdAt).toISOString() })
    }),
    route('GET', '/api/v1/audit', async (req, res, { auth: manager }) => {
      const { limit, key_id: keyId, before } = queryOf(req)
      const parsedLimit = limit === undefined ? 100 : Number(limit)
      if (!Number.isInteger(parsedLimit) || parsedLimit < 1 || parsedLimit > 1000) {
        throw new InvalidRequest('limit must be an integer from 1 to 1000')
      }
      const parsedBefore = before === undefined ? undefined : Number(before)
      if (parsedBefore !== undefined && (!Number.isInteger(parsedBefore) || parsedBefore < 1)) {
        throw new InvalidRequest('before must be a positive event id')
      }
      if (keyId !== undefined && typeof keyId !== 'string') throw new InvalidRequest('key_id must be a single value')
      const events = await services.audit.list(manager.accountId, {
        limit: parsedLimit,
        ...(parsedBefore !== undefined && { before: parsedBefore }),
        ...(keyId !== undefined && { keyId }),
      })
      sendJson(res, 200, {
        events: events.map((e) => ({ id: e.id, keyId: e.keyId, type: e.type, at: new Date(e.at).toISOString(), detail: e.detail })),
      })
    }),
  ]
}
