/**
 * Requests that arrive while the emulator starts: a client that polls discovery as soon as the
 * port opens (CI scripts, openid-client, containers) must get an answer, never a hang; if the
 * emulator fails to start, 503 with `Retry-After`.
 */
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { startServer } from '../../src/main.js'
import type { EmulatorStore } from '../../src/store/types.js'
import { createMemoryEmulatorStore } from '../../src/store/memory-store.js'

const logger = pino({ level: 'silent' })

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Resolves once something accepts connections on `port`. */
async function portOpen(port: number): Promise<void> {
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/**
 * A GET (with `headers`) that resolves with status, headers and body, or rejects after `timeoutMs`
 * with no answer.
 */
function get(
  port: number,
  path: string,
  timeoutMs = 10_000,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, timeout: timeoutMs }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('timeout', () => req.destroy(new Error(`no answer to GET ${path} within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** A memory store whose first settings write waits `delayMs`, then resolves, or rejects when `fail`. */
function slowStore(delayMs: number, fail = false): EmulatorStore {
  const store = createMemoryEmulatorStore()
  const setIfAbsent = store.settings.setIfAbsent.bind(store.settings)
  store.settings.setIfAbsent = async (...args) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs))
    if (fail) throw new Error('the store is gone')
    return setIfAbsent(...args)
  }
  return store
}

/** A memory store whose first settings write waits until `open()` is called. */
function gatedStore(): { store: EmulatorStore; open: () => void } {
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  const store = createMemoryEmulatorStore()
  const setIfAbsent = store.settings.setIfAbsent.bind(store.settings)
  store.settings.setIfAbsent = async (...args) => {
    await gate
    return setIfAbsent(...args)
  }
  return { store, open }
}

describe('a request that arrives while the emulator starts', () => {
  it('is answered once it has started (discovery and a token route), not left hanging', async () => {
    const port = await freePort()
    const starting = startServer({ port, dataDir: null, logLevel: 'silent' }, { logger, store: slowStore(300) })
    await portOpen(port)
    const [discovery, health] = await Promise.all([get(port, '/.well-known/openid-configuration'), get(port, '/healthz')])
    const running = await starting
    try {
      expect(discovery.status).toBe(200)
      expect(JSON.parse(discovery.body)).toMatchObject({ issuer: `http://127.0.0.1:${port}` })
      expect(health.status).toBe(200)
    } finally {
      await running.close()
    }
  })

  it('gets 503 with Retry-After and a JSON body when the emulator fails to start', async () => {
    const port = await freePort()
    const starting = startServer({ port, dataDir: null, logLevel: 'silent' }, { logger, store: slowStore(300, true) })
    starting.catch(() => undefined)
    await portOpen(port)
    const answer = await get(port, '/.well-known/openid-configuration')
    await expect(starting).rejects.toThrow('the store is gone')
    expect(answer.status).toBe(503)
    expect(answer.headers['retry-after']).toBe('1')
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'temporarily_unavailable', error_description: 'the emulator failed to start' })
  })

  it('refuses a WebSocket upgrade with 503, Retry-After and a JSON body until it has started', async () => {
    const port = await freePort()
    // Held until the answer has come, however slow the machine.
    const { store, open } = gatedStore()
    const starting = startServer({ port, dataDir: null, logLevel: 'silent' }, { logger, store })
    await portOpen(port)
    const upgrade = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }
    const answer = await get(port, '/data/events', 10_000, upgrade).finally(open)
    const running = await starting
    try {
      expect(answer.status).toBe(503)
      expect(answer.headers['retry-after']).toBe('1')
      expect(JSON.parse(answer.body)).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'the emulator is starting; try again',
        message: 'the emulator is starting; try again',
      })
    } finally {
      await running.close()
    }
  })
})
