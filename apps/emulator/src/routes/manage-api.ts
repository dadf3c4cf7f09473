import {
  isAuthCoreError,
  type AccessTokenVerifier,
} from '@eyepop/auth-core'
import { Router, type NextFunction, type Request, type Response } from 'express'
import { bearerCredential } from '../http/bearer.js'
import { safeEqual, type DashboardSessions } from '../http/dashboard-session.js'
import { AccessDenied, InsufficientScope, InvalidRequest, NotFoundError, OAuthError } from '../http/errors.js'
import { jsonObjectBody } from '../http/json-body.js'
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

function managerOf(res: Response): Manager {
  return res.locals.manager as Manager
}

/**
 * The key-management REST API under `/api/v1` (documented in `/openapi.json`): keys, Pops and the
 * audit log of the caller's account. The caller is either
 * - a signed-in dashboard session (cookie), whose changes must carry its CSRF token in
 *   `X-CSRF-Token` and, when the browser sends one, a same-origin `Origin`; or
 * - a signed-in user's access token (`Authorization: Bearer`, scope `manage:keys`), from the
 *   dashboard sign-in or `eyepop-emulator login`.
 * API keys, their access tokens and temporary keys are refused with 403: they run Pops, they do
 * not manage keys. Another account's keys and Pops are answered 404, like missing ones.
 */
export function manageApiRoutes(deps: {
  issuer: string
  sessions: DashboardSessions
  verifyUser: AccessTokenVerifier
  verify: AccessTokenVerifier
  services: Services
  maxBodyBytes: number
}): Router {
  const router = Router()
  const { services } = deps
  const issuerOrigin = new URL(deps.issuer).origin
  const jsonBody = jsonObjectBody(deps.maxBodyBytes)

  async function authenticate(req: Request, res: Response, next: NextFunction): Promise<void> {
    res.setHeader('Cache-Control', 'no-store')
    if (req.headers.authorization !== undefined) {
      const credential = bearerCredential(req)
      if (isApiKeyCredential(credential)) {
        throw new AccessDenied('api keys cannot manage keys: sign in to the dashboard or use a signed-in user token')
      }
      try {
        const { claims, scopes } = await deps.verifyUser(credential)
        if (!scopes.includes(MANAGE_SCOPE)) throw new InsufficientScope(`access token lacks the ${MANAGE_SCOPE} scope`)
        res.locals.manager = { accountId: claims.sub } satisfies Manager
      } catch (err) {
        if (isAuthCoreError(err) && (await deps.verify(credential).then(() => true, () => false))) {
          throw new AccessDenied('access tokens from api keys and temporary keys cannot manage keys')
        }
        throw err
      }
      next()
      return
    }
    const session = await deps.sessions.current(req)
    if (!session) {
      throw new OAuthError(401, 'invalid_request', 'sign in to the dashboard or send a signed-in user access token', {
        challenge: 'Bearer realm="eyepop"',
      })
    }
    if (!SAFE_METHODS.has(req.method)) {
      const origin = req.headers.origin
      const csrf = req.headers['x-csrf-token']
      if ((origin !== undefined && origin !== issuerOrigin) || typeof csrf !== 'string' || !safeEqual(csrf, session.csrfToken)) {
        throw new AccessDenied('csrf token is missing or invalid: send the X-CSRF-Token of your session')
      }
    }
    res.locals.manager = { accountId: session.accountId, csrfToken: session.csrfToken } satisfies Manager
    next()
  }

  router.use('/api/v1', authenticate)

  router.get('/api/v1/session', async function session(_req, res) {
    const manager = managerOf(res)
    const account = await deps.services.accounts.get(manager.accountId)
    if (!account) throw new NotFoundError('account not found')
    res.json({
      account: { id: account.id, email: account.email, name: account.name },
      ...(manager.csrfToken && { csrfToken: manager.csrfToken }),
    })
  })

  router.get('/api/v1/keys', async function listKeys(_req, res) {
    res.json({ keys: await services.keys.list(managerOf(res).accountId) })
  })
  router.post('/api/v1/keys', ...jsonBody, async function createKey(req, res) {
    const body = req.body as Record<string, unknown>
    const created = await services.keys.create(managerOf(res).accountId, { name: body.name, expires: body.expires })
    res.status(201).json(created)
  })
  router.get('/api/v1/keys/:id', async function getKey(req, res) {
    res.json(await services.keys.get(managerOf(res).accountId, String(req.params.id)))
  })
  router.delete('/api/v1/keys/:id', async function deleteKey(req, res) {
    await services.keys.delete(managerOf(res).accountId, String(req.params.id))
    res.status(204).end()
  })

  router.get('/api/v1/pops', async function listPops(_req, res) {
    res.json({ pops: await services.pops.list(managerOf(res).accountId) })
  })
  router.post('/api/v1/pops', ...jsonBody, async function createPop(req, res) {
    res.status(201).json(await services.pops.create(managerOf(res).accountId, { name: (req.body as Record<string, unknown>).name }))
  })
  router.get('/api/v1/pops/:id', async function getPop(req, res) {
    const pop = await services.pops.find(String(req.params.id))
    if (!pop || pop.accountId !== managerOf(res).accountId) throw new NotFoundError('pop not found')
    res.json({ id: pop.id, name: pop.name, createdAt: new Date(pop.createdAt).toISOString() })
  })

  router.get('/api/v1/audit', async function audit(req, res) {
    const { limit, key_id: keyId, before } = req.query
    const parsedLimit = limit === undefined ? 100 : Number(limit)
    if (!Number.isInteger(parsedLimit) || parsedLimit < 1 || parsedLimit > 1000) {
      throw new InvalidRequest('limit must be an integer from 1 to 1000')
    }
    const parsedBefore = before === undefined ? undefined : Number(before)
    if (parsedBefore !== undefined && (!Number.isInteger(parsedBefore) || parsedBefore < 1)) {
      throw new InvalidRequest('before must be a positive event id')
    }
    if (keyId !== undefined && typeof keyId !== 'string') throw new InvalidRequest('key_id must be a single value')
    const events = await services.audit.list(managerOf(res).accountId, {
      limit: parsedLimit,
      ...(parsedBefore !== undefined && { before: parsedBefore }),
      ...(keyId !== undefined && { keyId }),
    })
    res.json({
      events: events.map((e) => ({ id: e.id, keyId: e.keyId, type: e.type, at: new Date(e.at).toISOString(), detail: e.detail })),
    })
  })

  return router
}
