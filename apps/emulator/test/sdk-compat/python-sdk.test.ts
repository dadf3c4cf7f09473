/**
 * SDK compatibility: the real EyePop Python SDK 3.25.0 (from ../shared/real-sdks, installed by
 * `@eyepop/real-sdks`), unchanged, against the emulator started by its own command, through the
 * flows of the SDK's README (python/flows.py).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_PREDICTION } from '../../src/services/predictions.js'
import { IMAGE_URL, startCompatEmulator, type CompatEmulator } from './fixture.js'
import { startPythonSdk, type FlowAnswer, type PythonSdk } from './python-bridge.js'

let emulator: CompatEmulator
let sdk: PythonSdk

beforeAll(async () => {
  emulator = await startCompatEmulator('python-sdk')
  sdk = startPythonSdk()
})
afterAll(async () => {
  await sdk?.close()
  await emulator?.close()
})

/** The flow's result; a failure shows the SDK's exception and its log. */
async function result<T>(flow: string, args: Record<string, unknown>): Promise<T> {
  const answer = await sdk.run(flow, { url: emulator.url, ...args })
  if (!answer.ok) expect.fail(`${flow} failed: ${answer.error}\n--- SDK log ---\n${sdk.log().slice(-4000)}`)
  return (answer as Extract<FlowAnswer, { ok: true }>).result as T
}

async function failure(flow: string, args: Record<string, unknown>): Promise<string> {
  const answer = await sdk.run(flow, { url: emulator.url, ...args })
  if (answer.ok) expect.fail(`${flow} succeeded: ${JSON.stringify(answer.result)}`)
  return (answer as Extract<FlowAnswer, { ok: false }>).error
}

/** One canned prediction, as the SDK hands it over. */
const prediction = { ...DEFAULT_PREDICTION, source_id: expect.any(String) }

describe('the Python SDK 3.25.0 with an API key (the compute API)', () => {
  it('runs the README quick start: sync_worker(api_key=…) on the default transient session (upload, load_from, upload_stream)', async () => {
    const got = await result<Record<string, unknown[]>>('transient_default', { api_key: emulator.apiKey, image: emulator.image, image_url: IMAGE_URL })
    expect(got).toEqual({ upload: [prediction], load_from: [prediction], upload_stream: [prediction] })
  })

  it('runs pop=Pop(components=[]): a session of its own, image groups with each image its prediction, and a video', async () => {
    const got = await result<Record<string, unknown[]>>('transient_pop', {
      api_key: emulator.apiKey,
      image: emulator.image,
      image_url: IMAGE_URL,
      video: emulator.video,
    })
    expect(got).toEqual({
      upload: [prediction],
      upload_group: [prediction, prediction, prediction],
      load_from_group: [prediction, prediction],
      upload_stream_group: [prediction, prediction],
      video: [prediction],
    })
  })

  it('runs async_worker with jobs queued together', async () => {
    const got = await result<unknown[]>('async_worker', { api_key: emulator.apiKey, image: emulator.image, image_url: IMAGE_URL })
    expect(got).toEqual([prediction, prediction])
  })

  it('reaches a session opened beforehand by its session_uuid, and leaves it running', async () => {
    const uuid = await emulator.openSession()
    expect(await result('persistent_session', { api_key: emulator.apiKey, session_uuid: uuid, image: emulator.image })).toEqual([prediction])
    expect(await emulator.sessionIsLive(uuid)).toBe(true)
  })

  it('connects and disconnects 30 times in a row, with and without a pop, and is never refused', async () => {
    expect(await result('many_connects', { api_key: emulator.apiKey, image_url: IMAGE_URL, times: 30, with_pop: true })).toBe(30)
    expect(await result('many_connects', { api_key: emulator.apiKey, image_url: IMAGE_URL, times: 30, with_pop: false })).toBe(30)
  })

  it('fails with the reason for a wrong key, never echoing it', async () => {
    const wrong = `${emulator.apiKey.slice(0, -1)}${emulator.apiKey.endsWith('A') ? 'B' : 'A'}`
    const error = await failure('transient_default', { api_key: wrong, image: emulator.image, image_url: IMAGE_URL })
    expect(error).toMatch(/^ComputeSessionException: Failed to fetch existing sessions: .*"error":"invalid_client".*"message":"api key/)
    expect(error).not.toContain(wrong)
  })

  it('reads the data API config at /v1/configs and keeps its WebSocket open', async () => {
    expect(await result('data_endpoint', { api_key: emulator.apiKey })).toEqual({ dataset_api_url: '/data', ws_open: true })
  })
})

describe('the Python SDK 3.25.0 with a secret key or an access token (the legacy routes)', () => {
  it('runs secret_key + pop_id: upload and load_from on the Pop', async () => {
    const got = await result<{ upload: unknown[]; load_from: unknown[]; session: Record<string, unknown> }>('secret_key_pop_id', {
      secret_key: emulator.apiKey,
      pop_id: emulator.popId,
      image: emulator.image,
      image_url: IMAGE_URL,
    })
    expect(got.upload).toEqual([prediction])
    expect(got.load_from).toEqual([prediction])
    expect(got.session).toMatchObject({ eyepopUrl: emulator.url, accessToken: expect.any(String), popId: emulator.popId })
  })

  it('runs access_token on a transient worker, and a temporary key with its pop_id', async () => {
    expect(await result('access_token', { token: await emulator.accessToken(), image: emulator.image })).toEqual([prediction])
    const { accessToken } = await emulator.clientSession(emulator.popId, 60)
    expect(await result('access_token', { token: accessToken, image: emulator.image, pop_id: emulator.popId })).toEqual([prediction])
  })

  it('fails with the reason for an expired temporary key', async () => {
    const { accessToken, validUntil } = await emulator.clientSession(emulator.popId, 1)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, validUntil - Date.now()) + 50))
    const error = await failure('access_token', { token: accessToken, image: emulator.image, pop_id: emulator.popId })
    expect(error).toMatch(/401.*invalid_token.*expired/)
  })

  it('reads the data API config at /configs with an access token and keeps its WebSocket (at /events) open', async () => {
    expect(await result('data_endpoint', { token: await emulator.accessToken() })).toEqual({ dataset_api_url: '/data', ws_open: true })
  })
})
