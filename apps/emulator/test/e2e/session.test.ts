/**
 * Server to client with the real `@eyepop.ai/eyepop` 1.18.1: a server mints a session with
 * auth-core's token client, and the SDK, given only that session (as a browser would be), connects
 * to its Pop. The API key never reaches the SDK.
 */
import { createTokenClient, type ClientSession } from '@eyepop/auth-core'
import { EyePop } from '@eyepop.ai/eyepop'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { pino } from 'pino'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../src/main.js'
import { DEFAULT_PREDICTION } from '../../src/services/predictions.js'

// The SDK reads EYEPOP_* variables when it builds an endpoint: the test's settings must be the only ones.
clearEyePopEnv()

type SdkLogger = NonNullable<Parameters<typeof EyePop.workerEndpoint>[0]>['logger']
const logger = pino({ level: 'silent' }) as unknown as SdkLogger

let running: RunningServer
let clockOffsetMs = 0
let apiKey: string
let popId: string
let otherPopId: string

beforeAll(async () => {
  running = await startServer(
    { port: 0, dataDir: null, logLevel: 'silent' },
    { logger: pino({ level: 'silent' }), now: () => Date.now() + clockOffsetMs },
  )
  const { services } = running.emulator
  const account = services.defaultAccount.id
  apiKey = (await services.keys.create(account, { name: 'server', expires: 'never' })).key
  popId = (await services.pops.create(account, { name: 'browser pop' })).id
  otherPopId = (await services.pops.create(account, { name: 'other pop' })).id
})
afterAll(() => running.close())

function sessionEndpoint(session: ClientSession) {
  // What a browser does with the JSON its server handed over.
  return EyePop.workerEndpoint({ auth: { session: JSON.parse(JSON.stringify(session)) }, logger })
}

describe('a session minted by auth-core createClientSession', () => {
  it('connects the SDK to its Pop without the API key', async () => {
    const server = createTokenClient({ eyepopUrl: running.url, apiKey })
    const session = await server.createClientSession({ popId, ttlSeconds: 600 })
    expect(session).toEqual({ eyepopUrl: running.url, accessToken: expect.any(String), validUntil: expect.any(Number), popId })
    expect(JSON.stringify(session)).not.toContain(apiKey)
    const endpoint = sessionEndpoint(session)
    await endpoint.connect()
    await endpoint.disconnect()
  })

  it('processes an image file and a URL, returning the canned prediction', async () => {
    const session = await createTokenClient({ eyepopUrl: running.url, apiKey }).createClientSession({ popId })
    const endpoint = sessionEndpoint(session)
    await endpoint.connect()
    try {
      const dir = mkdtempSync(join(tmpdir(), 'eyepop-process-'))
      const image = join(dir, 'frame.png')
      writeFileSync(image, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'))
      const predictions: unknown[] = []
      for await (const result of await endpoint.process({ path: image })) predictions.push(result)
      for await (const result of await endpoint.process({ url: 'https://images.invalid/street.jpg' })) predictions.push(result)
      rmSync(dir, { recursive: true, force: true })
      expect(predictions).toEqual([
        { ...DEFAULT_PREDICTION, source_id: expect.any(String) },
        { ...DEFAULT_PREDICTION, source_id: expect.any(String) },
      ])
    } finally {
      await endpoint.disconnect()
    }
  })

  it('gets 403 on another Pop', async () => {
    const session = await createTokenClient({ eyepopUrl: running.url, apiKey }).createClientSession({ popId })
    const endpoint = sessionEndpoint({ ...session, popId: otherPopId })
    await expect(endpoint.connect()).rejects.toMatch(/403/)
  })

  it('is refused by the SDK after validUntil, and by the emulator with 401', async () => {
    // Mint with the emulator's clock an hour behind, so the session is already over.
    clockOffsetMs = -3_600_000
    let session: ClientSession
    try {
      session = await createTokenClient({ eyepopUrl: running.url, apiKey }).createClientSession({ popId, ttlSeconds: 60 })
    } finally {
      clockOffsetMs = 0
    }
    expect(session.validUntil).toBeLessThan(Date.now())
    await expect(sessionEndpoint(session).connect()).rejects.toMatch(/temporary access token expired/)
    const res = await fetch(`${running.url}/pops/${popId}/config`, { headers: { Authorization: `Bearer ${session.accessToken}` } })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'invalid_token', error_description: 'access token has expired' })
  })

  it('rejects an unknown Pop with ERR_TOKEN_REQUEST_FAILED', async () => {
    const client = createTokenClient({ eyepopUrl: running.url, apiKey })
    await expect(client.createClientSession({ popId: '0'.repeat(32) })).rejects.toMatchObject({
      code: 'ERR_TOKEN_REQUEST_FAILED',
      status: 400,
      error: 'invalid_target',
    })
    await expect(client.createClientSession({ popId: '' })).rejects.toThrow(TypeError)
  })
})
