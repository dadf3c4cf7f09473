/**
 * The one route table (issue 14): each route is declared once, the server's listener and the
 * Express app both answer it from that declaration with one matching rule (an exact,
 * case-sensitive path, no trailing slash, `:name` segments %-decoded), and the CORS paths come
 * from it.
 */
import type { Express } from 'express'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestEmulator, type TestEmulator } from '../helpers.js'

let emulator: TestEmulator
let key: string
let popId: string

beforeAll(async () => {
  emulator = await createTestEmulator()
  key = (await emulator.createKey()).key
  popId = (await emulator.createPop('route table')).id
  await emulator.ready
})
afterAll(() => emulator.close())

/** The route layers Express holds for `method` and `path` (a route mounted on it directly). */
function expressLayers(app: Express, method: string, path: string): number {
  let count = 0
  const walk = (stack: ReadonlyArray<{ route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: unknown } }>) => {
    for (const layer of stack) {
      const route = layer.route
      if (route) {
        const paths = Array.isArray(route.path) ? route.path : [route.path]
        if (paths.includes(path) && route.methods[method.toLowerCase()]) count++
      }
      const inner = (layer.handle as { stack?: typeof stack } | undefined)?.stack
      if (Array.isArray(inner)) walk(inner)
    }
  }
  walk((app as unknown as { router: { stack: Parameters<typeof walk>[0] } }).router.stack)
  return count
}

describe('the route table', () => {
  it('declares each method and path once', () => {
    const keys = emulator.routes.routes.map((r) => `${r.method} ${r.path}`)
    expect(keys.length).toBeGreaterThan(20)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('holds every route of the EyePop surfaces, of the management API and of the pages', () => {
    const keys = new Set(emulator.routes.routes.map((r) => `${r.method} ${r.path}`))
    for (const route of [
      'POST /authentication/token',
      'POST /v1/auth/authenticate',
      'POST /v1/auth/client-sessions',
      'GET /v1/auth/revocations',
      'POST /token',
      'POST /token/revocation',
      'POST /token/introspection',
      'GET /pops/:popId/config',
      'GET /workers/config',
      'POST /worker/pipelines',
      'DELETE /worker/pipelines/:pipelineId',
      'GET /v1/sessions',
      'POST /v1/sessions',
      'GET /v1/configs',
      'GET /data/config',
      'POST /events',
      'GET /api/v1/keys',
      'DELETE /api/v1/keys/:id',
      'GET /jwks',
      'GET /dashboard',
      'GET /dashboard/login',
      'GET /dashboard/callback',
      'POST /dashboard/logout',
      'GET /dashboard/assets/:file',
      'GET /interaction/:uid',
      'POST /interaction/:uid/login',
      'GET /interaction/assets/:file',
      'GET /.well-known/oauth-authorization-server',
    ]) {
      expect(keys, route).toContain(route)
    }
  })

  it('is not registered on Express a second time (no route layer of its own)', () => {
    for (const route of emulator.routes.routes) {
      expect(expressLayers(emulator.app, route.method, route.path), `${route.method} ${route.path}`).toBe(0)
    }
  })

  it('leaves Express no route of its own but the refusal of other preflights', () => {
    const routes: string[] = []
    const walk = (stack: ReadonlyArray<{ route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: unknown } }>) => {
      for (const layer of stack) {
        if (layer.route) routes.push(`${Object.keys(layer.route.methods).join(',')} ${String(layer.route.path)}`)
        const inner = (layer.handle as { stack?: typeof stack } | undefined)?.stack
        if (Array.isArray(inner)) walk(inner)
      }
    }
    walk((emulator.app as unknown as { router: { stack: Parameters<typeof walk>[0] } }).router.stack)
    expect(routes).toEqual(['options /{*path}'])
  })

  it('gives the CORS paths: exactly the paths of its CORS routes', () => {
    const fromRoutes = [...new Set(emulator.routes.routes.filter((r) => r.cors === true).map((r) => r.path))]
    expect([...emulator.routes.corsPaths].sort()).toEqual(fromRoutes.sort())
    expect(fromRoutes).toEqual(expect.arrayContaining(['/pops/:popId/config', '/worker/pipelines', '/v1/sessions', '/data/config']))
  })
})

describe('one matching rule', () => {
  const TARGETS = [
    ['the server listener', () => emulator.handler],
    ['the Express app', () => emulator.app],
  ] as const

  describe.each(TARGETS)('through %s', (_name, target) => {
    /** Status and error code of a request with the API key as bearer. */
    async function answer(method: 'get' | 'post', path: string) {
      const res = await request(target())[method](path).set('Authorization', `Bearer ${key}`)
      return { status: res.status, error: res.body.error as unknown }
    }

    it('answers the exact spelling of a hot route and of another route', async () => {
      expect((await answer('post', '/v1/auth/authenticate')).status).toBe(200)
      expect((await answer('get', '/v1/sessions')).status).toBe(200)
      expect((await answer('get', '/jwks')).status).toBe(200)
    })

    it.each([
      ['post', '/V1/auth/authenticate'],
      ['post', '/v1/auth/authenticate/'],
      ['post', '/v1/auth/%61uthenticate'],
      ['get', '/V1/sessions'],
      ['get', '/v1/sessions/'],
      ['get', '/v1/%73essions'],
      ['get', '/JWKS'],
      ['get', '/jwks/'],
    ] as const)('answers %s %s 404, another case, a trailing slash or an escaped letter being another path', async (method, path) => {
      expect(await answer(method, path)).toEqual({ status: 404, error: 'not_found' })
    })

    it('decodes %-escapes in a path parameter alike on a hot route and on another route', async () => {
      const token = (await request(target()).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`)).body.access_token as string
      const escaped = `%${popId.charCodeAt(0).toString(16)}${popId.slice(1)}`
      const plain = await request(target()).get(`/pops/${popId}/config`).set('Authorization', `Bearer ${token}`)
      const decoded = await request(target()).get(`/pops/${escaped}/config`).set('Authorization', `Bearer ${token}`)
      expect(plain.status).toBe(200)
      expect({ status: decoded.status, body: decoded.body }).toEqual({ status: plain.status, body: plain.body })
      const pipeline = plain.body.pipeline_id as string
      const escapedPipeline = `%${pipeline.charCodeAt(0).toString(16)}${pipeline.slice(1)}`
      const viaPlain = await request(target()).get(`/worker/pipelines/${pipeline}`).set('Authorization', `Bearer ${token}`)
      const viaEscaped = await request(target()).get(`/worker/pipelines/${escapedPipeline}`).set('Authorization', `Bearer ${token}`)
      expect(viaPlain.status).toBe(200)
      expect({ status: viaEscaped.status, body: viaEscaped.body }).toEqual({ status: viaPlain.status, body: viaPlain.body })
    })

    it('refuses a malformed %-escape in a path parameter with 400 on a hot route and on another route', async () => {
      for (const path of ['/pops/%zz/config', '/worker/pipelines/%zz']) {
        const res = await request(target()).get(path).set('Authorization', `Bearer ${key}`)
        expect({ status: res.status, error: res.body.error }, path).toEqual({ status: 400, error: 'invalid_request' })
      }
    })

    it('answers HEAD like GET, without a body', async () => {
      const res = await request(target()).head('/jwks')
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toBe('application/jwk-set+json; charset=utf-8')
    })

    it('answers a preflight with CORS headers on a CORS route only, fast or not', async () => {
      const preflight = (path: string, origin = 'http://localhost:5173') =>
        request(target()).options(path).set('Origin', origin).set('Access-Control-Request-Method', 'GET')
      for (const path of [`/pops/${popId}/config`, '/v1/sessions', '/worker/pipelines/x/source', '/data/config']) {
        const res = await preflight(path)
        expect(res.status, path).toBe(204)
        expect(res.headers['access-control-allow-origin'], path).toBe('http://localhost:5173')
        expect(res.headers['access-control-allow-methods'], path).toBe('GET,POST,PATCH,DELETE')
      }
      for (const path of ['/v1/auth/authenticate', '/api/v1/keys', `/POPS/${popId}/config`, `/pops/${popId}/config/`]) {
        const res = await preflight(path)
        expect(res.headers['access-control-allow-origin'], path).toBeUndefined()
      }
      expect((await preflight('/v1/sessions', 'https://elsewhere.example')).headers['access-control-allow-origin']).toBeUndefined()
    })
  })
})
