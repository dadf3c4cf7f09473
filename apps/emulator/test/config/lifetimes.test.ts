/** Lifetimes and caps set by options reach oidc-provider and the data WebSocket. */
import WebSocket from 'ws'
import { describe, expect, it } from 'vitest'
import { startTestServer } from '../helpers.js'

describe('--device-code-ttl', () => {
  it("sets the lifetime of login's device codes", async () => {
    const server = await startTestServer({ deviceCodeTtlSeconds: 120 })
    try {
      await server.emulator.ready
      const res = await fetch(`${server.url}/device/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'eyepop-cli', scope: 'openid' }),
      })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ expires_in: 120 })
    } finally {
      await server.close()
    }
  })
})

describe('--max-event-sockets', () => {
  it('refuses the upgrade past the cap with 503 and Retry-After', async () => {
    const server = await startTestServer({ maxEventSockets: 1 })
    const url = `${server.url.replace('http', 'ws')}/data/events`
    const first = new WebSocket(url)
    try {
      await new Promise((resolve, reject) => first.once('open', resolve).once('error', reject))
      const refused = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
        const second = new WebSocket(url)
        second.on('error', reject)
        second.once('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined })
          second.terminate()
        })
        second.once('open', () => reject(new Error('the second socket opened')))
      })
      expect(refused).toEqual({ status: 503, retryAfter: '5' })
    } finally {
      first.close()
      await server.close()
    }
  })
})
