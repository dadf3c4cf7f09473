/**
 * SDK compatibility: the real EyePop Node SDK 3.17.2 (from ../shared/real-sdks, installed by
 * `@eyepop/real-sdks`), unchanged, against the emulator started by its own command: every flow of
 * its README that touches auth, compute sessions, the worker and the data endpoint.
 */
import { loadNodeSdkV3, type NodeSdkV3, type Prediction, type SdkSession, type WorkerEndpointV3 } from '@eyepop/real-sdks'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_PREDICTION } from '../../src/services/predictions.js'
import { IMAGE_URL, MP4, PNG, startCompatEmulator, type CompatEmulator } from './fixture.js'

// The SDK reads these when it builds an endpoint: the emulator's options must be the only ones.
clearEyePopEnv()

const logger = pino({ level: 'silent' })
let sdk: NodeSdkV3
let emulator: CompatEmulator

beforeAll(async () => {
  sdk = loadNodeSdkV3()
  emulator = await startCompatEmulator('node-sdk-v3')
})
afterAll(() => emulator?.close())

/** One canned prediction, as the SDK yields it. */
const prediction = { ...DEFAULT_PREDICTION, source_id: expect.any(String) }
const pop = { components: [] }

async function collect(results: Promise<AsyncIterable<Prediction>>): Promise<Prediction[]> {
  const all: Prediction[] = []
  for await (const result of await results) all.push(result)
  return all
}

/** Connects, runs `use`, and always disconnects. */
async function connected<T>(endpoint: WorkerEndpointV3, use: (endpoint: WorkerEndpointV3) => Promise<T>): Promise<T> {
  await endpoint.connect()
  try {
    return await use(endpoint)
  } finally {
    await endpoint.disconnect()
  }
}

describe('the Node SDK 3.17.2 with an API key and a pop (a compute session of its own)', () => {
  it('processes an uploaded file, a path, a URL and a stream', async () => {
    const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: emulator.apiKey, pop, logger })
    const got = await connected(endpoint, async (e) => ({
      file: await collect(e.process({ source: { file: new File([PNG], 'shelf.png', { type: 'image/png' }) } })),
      path: await collect(e.process({ source: { path: emulator.image } })),
      url: await collect(e.process({ source: { url: IMAGE_URL } })),
      stream: await collect(e.process({ source: { stream: new Blob([PNG]).stream(), mimeType: 'image/png' } })),
    }))
    expect(got).toEqual({ file: [prediction], path: [prediction], url: [prediction], stream: [prediction] })
  })

  it('streams a video through a prepared source (the SDK has no full-duplex HTTP)', async () => {
    const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: emulator.apiKey, pop, logger })
    const got = await connected(endpoint, (e) =>
      collect(e.process({ source: { stream: new Blob([MP4]).stream(), mimeType: 'video/mp4', size: MP4.length, videoMode: 'stream' } })),
    )
    expect(got).toEqual([prediction])
  })

  it('processes image groups, each image with its prediction: uploadGroup, uploadStreamGroup, loadFromGroup', async () => {
    const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: emulator.apiKey, pop, logger })
    const got = await connected(endpoint, async (e) => ({
      uploadGroup: await collect(e.uploadGroup([emulator.image, emulator.image])),
      uploadStreamGroup: await collect(e.uploadStreamGroup([new Blob([PNG]), new Blob([PNG]), new Blob([PNG])], ['image/png', 'image/png', 'image/png'])),
      loadFromGroup: await collect(e.loadFromGroup([IMAGE_URL, IMAGE_URL])),
    }))
    expect(got).toEqual({ uploadGroup: [prediction, prediction], uploadStreamGroup: [prediction, prediction, prediction], loadFromGroup: [prediction, prediction] })
  })

  it('connects, processes and disconnects 30 times in a row and is never refused', async () => {
    for (let i = 0; i < 30; i++) {
      const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: emulator.apiKey, pop, logger })
      expect(await connected(endpoint, (e) => collect(e.process({ source: { url: IMAGE_URL } })))).toEqual([prediction])
    }
  })

  it('is refused at its 21st live session with a 409 that says how to free one, and connects again once one is freed', async () => {
    const { key } = await emulator.createKey('node-sdk-v3 many sessions')
    const open: WorkerEndpointV3[] = []
    try {
      for (let i = 0; i < 20; i++) open.push(await sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: key, pop, logger }).connect())
      const refused = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: key, pop, logger })
      await expect(refused.connect()).rejects.toThrow(
        /^Unexpected status 409 creating a compute session: limit_exceeded: this account has 20 live compute sessions, its limit; end one with DELETE \/v1\/sessions\/\{uuid\} or disconnect\(\)/,
      )
      await open.shift()!.disconnect()
      const again = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: key, pop, logger })
      expect(await connected(again, (e) => collect(e.process({ source: { url: IMAGE_URL } })))).toEqual([prediction])
    } finally {
      for (const endpoint of open) await endpoint.disconnect()
    }
  })
})

describe('the Node SDK 3.17.2 in its other modes', () => {
  it('uses the default transient session without a pop, 30 connects in a row', async () => {
    for (let i = 0; i < 30; i++) {
      const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: emulator.apiKey, logger })
      expect(await connected(endpoint, (e) => collect(e.process({ source: { path: emulator.image } })))).toEqual([prediction])
    }
  })

  it('uses an accessToken with a pop', async () => {
    const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, accessToken: await emulator.accessToken(), pop, logger })
    expect(await connected(endpoint, (e) => collect(e.process({ source: { url: IMAGE_URL } })))).toEqual([prediction])
  })

  it('reaches a session opened beforehand by its sessionUuid, and leaves it running', async () => {
    const uuid = await emulator.openSession()
    const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: emulator.apiKey, sessionUuid: uuid, logger })
    expect(await connected(endpoint, (e) => collect(e.process({ source: { url: IMAGE_URL } })))).toEqual([prediction])
    expect(await emulator.sessionIsLive(uuid)).toBe(true)
  })

  it('uses the deprecated popId (the Pop config route)', async () => {
    const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: emulator.apiKey, popId: emulator.popId, logger })
    expect(await connected(endpoint, (e) => collect(e.process({ source: { path: emulator.image } })))).toEqual([prediction])
  })

  it('fails with the reason for a wrong key, never echoing it', async () => {
    const wrong = `${emulator.apiKey.slice(0, -1)}${emulator.apiKey.endsWith('A') ? 'B' : 'A'}`
    const failed = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: wrong, pop, logger }).connect()
    await expect(failed).rejects.toThrow(/^Unexpected status 401 creating a compute session: invalid_client: api key/)
    const message = await failed.catch((err: Error) => err.message)
    expect(message).not.toContain(wrong)
  })
})

describe('the Node SDK 3.17.2 handing a session to a client (server to client)', () => {
  it("hands its session over as JSON; the client processes with it and never sees the API key", async () => {
    const server = sdk.EyePop.workerEndpoint({ eyepopUrl: emulator.url, apiKey: emulator.apiKey, pop, logger })
    await server.connect()
    try {
      const session = JSON.parse(JSON.stringify(await server.session())) as SdkSession
      expect(JSON.stringify(session)).not.toContain(emulator.apiKey)
      expect(session).toMatchObject({ eyepopUrl: emulator.url, popId: 'transient', accessToken: expect.any(String) })
      const client = sdk.EyePop.workerEndpoint({ session, logger })
      expect(await connected(client, (e) => collect(e.process({ source: { url: IMAGE_URL } })))).toEqual([prediction])
    } finally {
      await server.disconnect()
    }
  })

  it("takes a temporary key of the emulator's client-sessions route as its session, on that Pop", async () => {
    const session = await emulator.clientSession(emulator.popId, 60)
    const client = sdk.EyePop.workerEndpoint({ session, logger })
    expect(await connected(client, (e) => collect(e.process({ source: { file: new File([PNG], 'a.png', { type: 'image/png' }) } })))).toEqual([prediction])
  })

  it('refuses an expired session: the SDK itself, and the emulator at once when the SDK still trusts it', async () => {
    const session = await emulator.clientSession(emulator.popId, 1)
    const expired = sdk.EyePop.workerEndpoint({ session: { ...session, validUntil: Date.now() - 1 }, logger })
    await expect(expired.connect()).rejects.toBe('temporary access token expired')
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, session.validUntil - Date.now()) + 50))
    // The SDK believes the key lives another minute, so it only drops it after the emulator's 401
    // (it then has nothing to refresh it with, and says so).
    const trusted = sdk.EyePop.workerEndpoint({ session: { ...session, validUntil: Date.now() + 60_000 }, logger })
    await expect(trusted.connect()).rejects.toBe('temporary access token expired')
    const res = await fetch(`${emulator.url}/pops/${emulator.popId}/config`, { headers: { Authorization: `Bearer ${session.accessToken}` } })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'invalid_token', message: expect.stringMatching(/expired/) })
  })
})

describe('the Node SDK 3.17.2 data endpoint', () => {
  for (const [mode, options] of [
    ['an API key', () => ({ apiKey: emulator.apiKey })],
    ['an accessToken', async () => ({ accessToken: await emulator.accessToken() })],
  ] as const) {
    it(`connects with ${mode}: /v1/configs, then its WebSocket at /data/events stays open`, async () => {
      const endpoint = sdk.EyePop.dataEndpoint({ eyepopUrl: emulator.url, ...(await options()), logger })
      await endpoint.connect()
      try {
        const session = await endpoint.session()
        expect(session).toMatchObject({ datasetApiUrl: `${emulator.url}/data`, vlmApiUrl: `${emulator.url}/vlm` })
        // A refused WebSocket is closed by the emulator at once (1008); give it the time to.
        await new Promise((resolve) => setTimeout(resolve, 300))
        // The SDK keeps its socket in a private field; 1 is OPEN.
        expect((endpoint as unknown as { _ws: { readyState: number } | null })._ws?.readyState).toBe(1)
      } finally {
        await endpoint.disconnect()
      }
    })
  }
})
