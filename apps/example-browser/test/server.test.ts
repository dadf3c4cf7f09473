/**
 * The example server over HTTP, against the emulator: what `GET /api/eyepop-session` hands out
 * (and what it never does), and how the server fails.
 */
import { startServer, type RunningServer } from '@eyepop/emulator'
import type { ClientSession } from '@eyepop/auth-core'
import { pino } from 'pino'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleServer, type CreateExampleServerOptions } from '../src/server.js'

let emulator: RunningServer
let apiKey: string
let popId: string
const servers: Server[] = []

async function listen(options: Partial<CreateExampleServerOptions> = {}): Promise<string> {
  const server = createServer(createExampleServer({ eyepopUrl: emulator.url, apiKey, popId, ...options }))
  servers.push(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  emulator = await startServer({ port: 0, dataDir: null, logLevel: 'silent' }, { logger: pino({ level: 'silent' }) })
  const { services } = emulator.emulator
  const accountId = services.defaultAccount.id
  apiKey = (await services.keys.create(accountId, { name: 'example server', expires: 'never' })).key
  popId = (await services.pops.create(accountId, { name: 'example pop' })).id
})

afterAll(async () => {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
    ),
  )
  await emulator?.close()
})

describe('GET /api/eyepop-session', () => {
  describe('with a Pop the key reaches', () => {
    let base: string
    let res: Response
    let session: ClientSession

    beforeAll(async () => {
      base = await listen({ ttlSeconds: 120 })
      res = await fetch(`${base}/api/eyepop-session`)
      session = (await res.clone().json()) as ClientSession
    })

    it('responds 200 with a session for that Pop, never cached', async () => {
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(session).toEqual({ eyepopUrl: emulator.url, accessToken: expect.any(String), validUntil: expect.any(Number), popId })
      expect(session.validUntil - Date.now()).toBeGreaterThan(100_000)
      expect(session.validUntil - Date.now()).toBeLessThanOrEqual(120_000)
      expect(await res.text()).not.toContain(apiKey)
    })

    it('binds the temporary key to the page origin (from the Host header)', async () => {
      const config = `${emulator.url}/pops/${popId}/config`
      const auth = { Authorization: `Bearer ${session.accessToken}` }
      const own = await fetch(config, { headers: { ...auth, Origin: base } })
      expect(own.status).toBe(200)
      const other = await fetch(config, { headers: { ...auth, Origin: 'http://localhost:1' } })
      expect(other.status).toBe(403)
    })
  })

  describe('when EyePop refuses (an unknown Pop)', () => {
    it('responds 502 session_unavailable, without the key or the cause', async () => {
      const failures: unknown[] = []
      const base = await listen({ popId: '0'.repeat(32), onSessionError: (err) => failures.push(err) })
      const res = await fetch(`${base}/api/eyepop-session`)
      const text = await res.text()
      expect(res.status).toBe(502)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(JSON.parse(text)).toEqual({
        error: 'session_unavailable',
        error_description: 'eyepop refused or could not be reached: a session could not be created',
      })
      expect(text).not.toContain(apiKey)
      expect(failures).toEqual([expect.objectContaining({ code: 'ERR_TOKEN_REQUEST_FAILED', error: 'invalid_target' })])
    })
  })
})

describe('GET /', () => {
  it('serves the page with a Content-Security-Policy that allows only this server and EyePop', async () => {
    const base = await listen()
    const res = await fetch(`${base}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('content-security-policy')).toContain(`connect-src 'self' ${emulator.url}`)
    expect(res.headers.get('x-powered-by')).toBeNull()
    expect(await res.text()).toContain('Run on a sample image')
  })
})

describe('GET /vendor/eyepop.min.js', () => {
  it('serves the EyePop SDK browser bundle as JavaScript', async () => {
    const base = await listen()
    const res = await fetch(`${base}/vendor/eyepop.min.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect((await res.text()).length).toBeGreaterThan(10_000)
  })
})

describe('createExampleServer', () => {
  it('throws TypeError for a bad ttlSeconds or popId', () => {
    expect(() => createExampleServer({ eyepopUrl: emulator.url, apiKey, popId, ttlSeconds: 0 })).toThrow(
      new TypeError('"ttlSeconds" option must be a positive integer'),
    )
    expect(() => createExampleServer({ eyepopUrl: emulator.url, apiKey, popId: '' })).toThrow(TypeError)
  })

  it('refuses a malformed API key at startup, without repeating it', () => {
    // Change the last checksum character (to a different one: a fixed 'x' would
    // leave a key that already ends in 'x' valid).
    const bad = `${apiKey.slice(0, -1)}${apiKey.endsWith('x') ? 'y' : 'x'}`
    let thrown: unknown
    try {
      createExampleServer({ eyepopUrl: emulator.url, apiKey: bad, popId })
    } catch (err) {
      thrown = err
    }
    expect(thrown).toMatchObject({ code: 'ERR_API_KEY_MALFORMED' })
    expect(String((thrown as Error).message)).not.toContain(bad)
  })
})
