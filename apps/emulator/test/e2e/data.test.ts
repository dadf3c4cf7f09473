/**
 * The data endpoint with the real EyePop SDK 1.18.1 (`EyePop.dataEndpoint`) and a raw WebSocket
 * client: the config route, the `/data/events` handshake, and clear close reasons for bad tokens.
 */
import { EyePop } from '@eyepop.ai/eyepop'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { pino } from 'pino'
import { connect } from 'node:net'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/main.js'
import { startTestServer } from '../helpers.js'

const MAX_EVENT_SOCKETS_PER_ACCOUNT = 4

// The SDK reads EYEPOP_* variables when it builds an endpoint: the test's settings must be the only ones.
clearEyePopEnv()

type SdkLogger = NonNullable<Parameters<typeof EyePop.dataEndpoint>[0]>['logger']
const logger = pino({ level: 'silent' }) as unknown as SdkLogger

let running: RunningServer
let apiKey: string
let accountId: string
let token: string

beforeAll(async () => {
  // A cap of its own (--max-event-sockets-per-account), below the default of 16.
  running = await startTestServer({ maxEventSocketsPerAccount: MAX_EVENT_SOCKETS_PER_ACCOUNT })
  const { services } = running.emulator
  accountId = services.defaultAccount.id
  apiKey = (await services.keys.create(accountId, { name: 'data', expires: 'never' })).key
  token = ((await (await fetch(`${running.url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${apiKey}` } })).json()) as { access_token: string }).access_token
})
afterAll(() => running.close())

/**
 * Opens the events socket, sends `frames`, and resolves how it closed (or 'open' after `waitMs`).
 * The default wait is long, so that a close is seen even on a stalled machine; a test that
 * expects the socket to stay open passes a short one.
 */
function socket(frames: unknown[], waitMs = 5_000, path = '/data/events'): Promise<{ code: number; reason: string } | 'open'> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}${path}`)
    ws.on('open', () => {
      for (const f of frames) ws.send(typeof f === 'string' ? f : JSON.stringify(f))
      setTimeout(() => {
        if (ws.readyState === WebSocket.OPEN) {
          ws.close()
          resolve('open')
        }
      }, waitMs)
    })
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    ws.on('error', reject)
  })
}

describe('EyePop.dataEndpoint against the emulator', () => {
  it('connects with a secret key: config, WebSocket handshake and cookie check', async () => {
    const upgrades: string[] = []
    const onUpgrade = (req: { url?: string }) => upgrades.push(req.url ?? '')
    running.server.on('upgrade', onUpgrade)
    try {
      const endpoint = EyePop.dataEndpoint({ eyepopUrl: running.url, auth: { secretKey: apiKey }, accountId, useCookie: true, logger })
      await endpoint.connect()
      const session = await endpoint.session()
      expect(session.accountId).toBe(accountId)
      // The data API's address, read from the emulator's /data/config, and a token it takes.
      expect(session.baseUrl).toBe(`${running.url}/data`)
      const config = await fetch(`${running.url}/data/config?account_uuid=${accountId}`, { headers: { Authorization: `Bearer ${session.accessToken}` } })
      expect(config.status).toBe(200)
      // The events WebSocket was opened (the handshake), then closed by disconnect.
      expect(upgrades.some((u) => u.startsWith('/data/events') || u.startsWith('/events'))).toBe(true)
      await endpoint.disconnect()
    } finally {
      running.server.off('upgrade', onUpgrade)
    }
  })

  it('refuses another account on /data/config with 403', async () => {
    const res = await fetch(`${running.url}/data/config?account_uuid=${crypto.randomUUID()}`, { headers: { Authorization: `Bearer ${token}` } })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: 'access_denied' })
  })
})

describe("the Python SDK's request traces", () => {
  it('are taken (204) at /events and {session_endpoint}/events with a valid token, and discarded', async () => {
    for (const path of ['/events', '/worker/events']) {
      const res = await fetch(`${running.url}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-flatbuffers;schema=eyepop.events.Record' },
        body: Buffer.alloc(512, 3),
      })
      expect(res.status, path).toBe(204)
    }
  })

  it('are refused (401 JSON) without a valid token, and (400) when larger than 1 MiB', async () => {
    const refused = await fetch(`${running.url}/events`, { method: 'POST', headers: { Authorization: 'Bearer not.a.token' }, body: 'x' })
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ error: 'invalid_token' })
    const large = await fetch(`${running.url}/events`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: Buffer.alloc(1024 * 1024 + 1) })
    expect(large.status).toBe(400)
    expect(await large.json()).toMatchObject({ error: 'invalid_request' })
  })
})

describe('the /data/events WebSocket', () => {
  it('stays open after a valid authorization frame and a subscription to its account', async () => {
    expect(await socket([{ authorization: `Bearer ${token}` }, { subscribe: { account_uuid: accountId } }], 400)).toBe('open')
  })

  it('is also at /events, where the Python SDK resolves it (the same checks)', async () => {
    expect(await socket([{ authorization: `Bearer ${token}` }, { subscribe: { account_uuid: accountId } }], 400, '/events')).toBe('open')
    expect(await socket([{ authorization: 'Bearer not.a.token' }], 5_000, '/events')).toMatchObject({ code: 1008 })
  })

  it('closes with 1008 for a temporary key, even one with access:datasets: it reaches its Pop only', async () => {
    const { services, tokens } = running.emulator
    const pop = await services.pops.create(accountId, { name: 'ws pop' })
    const temporary = await tokens.mintTemporaryKey({ apiKey }, { popId: pop.id, scopes: ['access:inference-api', 'access:datasets'] })
    expect(await socket([{ authorization: `Bearer ${temporary.accessToken}` }])).toEqual({
      code: 1008,
      reason: 'access_denied: a temporary key is bound to its pop and cannot reach the data api',
    })
  })

  it(`keeps at most ${MAX_EVENT_SOCKETS_PER_ACCOUNT} authenticated sockets per account, closing the next with 1008`, async () => {
    const open: WebSocket[] = []
    try {
      for (let i = 0; i < MAX_EVENT_SOCKETS_PER_ACCOUNT; i++) {
        const ws = new WebSocket(`${running.url.replace('http', 'ws')}/data/events`)
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
        ws.send(JSON.stringify({ authorization: `Bearer ${token}` }))
        open.push(ws)
      }
      // Each of them is authenticated before the next one asks (the check is asynchronous).
      await new Promise((resolve) => setTimeout(resolve, 200))
      for (const ws of open) expect(ws.readyState).toBe(WebSocket.OPEN)
      expect(await socket([{ authorization: `Bearer ${token}` }])).toEqual({
        code: 1008,
        reason: `access_denied: this account has ${MAX_EVENT_SOCKETS_PER_ACCOUNT} open event sockets, its limit`,
      })
      open.pop()!.close()
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(await socket([{ authorization: `Bearer ${token}` }], 300)).toBe('open')
    } finally {
      for (const ws of open) ws.close()
    }
  })

  it('closes with 1008 and a clear reason for a bad token', async () => {
    expect(await socket([{ authorization: 'Bearer not.a.token' }])).toEqual({
      code: 1008,
      reason: 'invalid_token: access token is malformed: not a JWS in canonical compact form',
    })
  })

  it('closes with 1008 when the first frame is not an authorization', async () => {
    const closed = await socket([{ subscribe: { account_uuid: accountId } }])
    expect(closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/^invalid_request: the first frame must be/) })
  })

  it('closes with 1007 for a frame that is not JSON', async () => {
    expect(await socket(['{oops'])).toMatchObject({ code: 1007 })
  })

  it('closes with 1008 on a subscription to another account', async () => {
    const closed = await socket([{ authorization: `Bearer ${token}` }, { subscribe: { account_uuid: crypto.randomUUID() } }])
    expect(closed).toMatchObject({ code: 1008, reason: 'access_denied: cannot subscribe to another account' })
  })

  it('closes an open socket within a second or two of its API key being deleted', async () => {
    const { services } = running.emulator
    const created = await services.keys.create(accountId, { name: 'doomed', expires: 'never' })
    const t = ((await (await fetch(`${running.url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${created.key}` } })).json()) as { access_token: string }).access_token
    const pending = socket([{ authorization: `Bearer ${t}` }], 5000)
    await new Promise((r) => setTimeout(r, 200))
    await services.keys.delete(accountId, created.id)
    expect(await pending).toEqual({ code: 1008, reason: 'invalid_token: access token was derived from an api key that has been deleted' })
  })

  it('answers 404 to an upgrade on another path', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${running.url.replace('http', 'ws')}/nope`)
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)))
      ws.on('error', () => resolve('error'))
    })
    expect(outcome).toBe('404')
  })

  it('answers 404 to an upgrade whose target is not a valid URL path, and keeps serving', async () => {
    for (const target of ['//', '///', '//[', '/\\']) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(running.url).port), '127.0.0.1', () => {
          socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)
        })
        let text = ''
        socket.on('data', (d: Buffer) => (text += d))
        socket.on('end', () => resolve(text))
        socket.on('error', reject)
      })
      expect(answer, target).toMatch(/^HTTP\/1\.1 404 /)
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: 'not_found' })
    }
    expect((await fetch(`${running.url}/.well-known/openid-configuration`)).status).toBe(200)
  })

  it('closes a refused upgrade\'s socket whose request had a body, so it holds neither a socket nor server.close()', async () => {
    const own = await startTestServer()
    // Nothing reads what follows the head of an upgrade: the body, and the client's end after it,
    // stay unread, so the server's socket would never see the client go.
    const socket = connect({ port: Number(new URL(own.url).port), host: '127.0.0.1' })
    try {
      const answered = new Promise<string>((resolve) => {
        let text = ''
        socket.on('data', (d: Buffer) => (text += d))
        socket.on('end', () => resolve(text))
      })
      socket.on('error', () => undefined)
      const body = 'x'.repeat(72_000)
      socket.end(
        `GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      )
      expect(await answered).toMatch(/^HTTP\/1\.1 404 /)
      const closed = await Promise.race([
        own.close().then(() => 'closed'),
        new Promise((resolve) => setTimeout(resolve, 5000, 'still open after 5 s')),
      ])
      expect(closed).toBe('closed')
    } finally {
      socket.destroy()
      await own.close()
    }
  })

  it('loses only the socket of a client that resets a refused upgrade, not the process', async () => {
    // Node takes its error listener off a socket it hands to `upgrade`: a reset arriving after the
    // refusal (ECONNRESET) is an error event on that socket, thrown if nothing listens.
    const outcome = new Promise<string>((resolve) => {
      running.server.once('upgrade', (_req, socket) => {
        try {
          socket.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
          resolve(socket.destroyed ? 'destroyed' : 'not destroyed')
        } catch (err) {
          resolve(`thrown: ${(err as Error).message}`)
        }
      })
    })
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}/nope`)
    ws.on('error', () => undefined)
    ws.on('unexpected-response', () => ws.terminate())
    expect(await outcome).toBe('destroyed')
    const config = await fetch(`${running.url}/.well-known/openid-configuration`)
    expect(config.status).toBe(200)
  })
})
