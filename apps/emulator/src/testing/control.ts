/**
 * The test control API (`start --test-control`): the harness's operations over HTTP, for tests in
 * other languages. Off by default, refused on a non-loopback host (see `resolveConfig`).
 *
 * | route | does |
 * |---|---|
 * | `GET /_test/` | the default account, the clock, pending faults |
 * | `POST /_test/clock/advance` `{seconds}` | moves the emulator's time forward |
 * | `POST /_test/faults` `{route, status?, body?, delayMs?, drop?, count?}` | fails the next request(s) to a route |
 * | `DELETE /_test/faults` | drops pending faults |
 * | `POST /_test/reset` | a new empty emulator in place (in-memory store only) |
 * | `POST /_test/api-keys` `{name?, expires?, accountId?}` | creates an API key (the key is in the answer) |
 * | `DELETE /_test/api-keys/{id}` | deletes one |
 * | `POST /_test/pops` `{name?, accountId?}` | creates a Pop |
 * | `POST /_test/accounts` `{email?, password?, name?}` | creates an account |
 * | `POST /_test/temporary-keys` `{apiKey, popId, ttlSeconds?, allowedOrigins?, scopes?}` | mints a temporary key |
 * | `GET /_test/audit-events?keyId=&limit=` | the audit log, newest first |
 *
 * @module
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { sendError, sendJson, toOAuthError } from '../http/error-handler.js'
import { InvalidRequest, NotFoundError } from '../http/errors.js'
import { jsonObjectReader } from '../http/json-body.js'
import type { RunningServer } from '../main.js'
import { createTestOperations } from './operations.js'

/** Where the test control API is served. */
export const TEST_CONTROL_PREFIX = '/_test/'

/** The largest body the control API reads. */
const MAX_BODY_BYTES = 64 * 1024

type Body = Record<string, unknown>
type Handle = (body: Body, params: { id?: string; query: URLSearchParams }) => Promise<[number, unknown?]>

const optionalString = (body: Body, name: string): string | undefined => {
  const value = body[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw new InvalidRequest(`${name} must be a string`)
  return value
}

const optionalNumber = (value: unknown, name: string): number | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidRequest(`${name} must be a number`)
  return value
}

/** The control API's request listener for `running` (requests under {@link TEST_CONTROL_PREFIX}). */
export function createTestControl(running: RunningServer): RequestListener {
  const ops = createTestOperations(running)
  const readJson = jsonObjectReader(MAX_BODY_BYTES)
  const clockView = () => ({ now: running.emulator.services.now(), virtual: running.clock?.virtual ?? false })
  const routes: Record<string, Handle> = {
    'GET /_test/': async () => [200, { account: ops.account(), clock: clockView(), faults: running.faults?.pending() ?? [] }],
    'POST /_test/clock/advance': async (body) => {
      if (!running.clock) throw new InvalidRequest('the clock is real')
      running.clock.advance(body.seconds as number)
      return [200, clockView()]
    },
    'POST /_test/faults': async (body) => {
      const { route, count, ...fault } = body
      running.faults!.next(route as string, fault, optionalNumber(count, 'count'))
      return [201, { faults: running.faults!.pending() }]
    },
    'DELETE /_test/faults': async () => {
      running.faults!.clear()
      return [204]
    },
    'POST /_test/reset': async () => {
      await running.reset()
      return [200, { account: ops.account() }]
    },
    'POST /_test/api-keys': async (body) => {
      const name = optionalString(body, 'name')
      const expires = optionalString(body, 'expires')
      const accountId = optionalString(body, 'accountId')
      return [201, await ops.createApiKey({ ...(name && { name }), ...(expires && { expires }), ...(accountId && { accountId }) })]
    },
    'DELETE /_test/api-keys/:id': async (_body, { id }) => {
      await ops.deleteApiKey(id!)
      return [204]
    },
    'POST /_test/pops': async (body) => {
      const name = optionalString(body, 'name')
      const accountId = optionalString(body, 'accountId')
      return [201, await ops.createPop({ ...(name && { name }), ...(accountId && { accountId }) })]
    },
    'POST /_test/accounts': async (body) => {
      const email = optionalString(body, 'email')
      const password = optionalString(body, 'password')
      const name = optionalString(body, 'name')
      return [201, await ops.createAccount({ ...(email && { email }), ...(password && { password }), ...(name && { name }) })]
    },
    'POST /_test/temporary-keys': async (body) => {
      const apiKey = optionalString(body, 'apiKey')
      const popId = optionalString(body, 'popId')
      if (!apiKey || !popId) throw new InvalidRequest('apiKey and popId must be provided')
      const ttlSeconds = optionalNumber(body.ttlSeconds, 'ttlSeconds')
      return [
        201,
        await ops.createTemporaryKey({
          apiKey,
          popId,
          ...(ttlSeconds !== undefined && { ttlSeconds }),
          ...(body.allowedOrigins !== undefined && { allowedOrigins: body.allowedOrigins as string[] }),
          ...(body.scopes !== undefined && { scopes: body.scopes as string[] }),
        }),
      ]
    },
    'GET /_test/audit-events': async (_body, { query }) => {
      const keyId = query.get('keyId') ?? undefined
      const limit = query.has('limit') ? Number(query.get('limit')) : undefined
      return [200, { events: await ops.auditEvents({ ...(keyId && { keyId }), ...(limit !== undefined && { limit }) }) }]
    },
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method ?? 'GET'
    const keyMatch = /^\/_test\/api-keys\/([A-Za-z0-9_-]{1,128})$/.exec(url.pathname)
    const route = keyMatch ? `${method} /_test/api-keys/:id` : `${method} ${url.pathname}`
    const handle = routes[route]
    if (!handle) throw new NotFoundError('no such test control route (GET /_test/ and the README list them)')
    // A POST without a body (`curl -X POST …/reset`) reads as an empty object.
    const hasBody = (req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined
    const body = method === 'POST' && hasBody ? await readJson(req, res) : {}
    const [status, answer] = await handle(body, { ...(keyMatch && { id: keyMatch[1] }), query: url.searchParams })
    res.setHeader('Cache-Control', 'no-store')
    if (answer === undefined) {
      res.statusCode = status
      res.end()
    } else {
      sendJson(res, status, answer)
    }
  }

  return function testControl(req, res) {
    serve(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      // The harness's own checks (a fault, a clock advance) throw TypeError: the request's fault.
      sendError(res, err instanceof TypeError ? new InvalidRequest(err.message) : toOAuthError(err))
    })
  }
}
