/**
 * End to end: the emulator as a real process started by its CLI, keys and Pops made by the CLI on
 * the same data dir, and the official `@eyepop.ai/eyepop` SDK (1.18.1, from npm, unchanged)
 * connecting to it over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EyePop } from '@eyepop.ai/eyepop'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, runCliJson, startEmulatorProcess, type EmulatorProcess } from './process.js'

// The SDK reads EYEPOP_* variables when it builds an endpoint: the test's settings must be the only ones.
clearEyePopEnv()

// The SDK is typed against its own pino major; a silent logger of ours serves it.
type SdkLogger = NonNullable<Parameters<typeof EyePop.workerEndpoint>[0]>['logger']
const logger = pino({ level: 'silent' }) as unknown as SdkLogger
let dataDir: string
let emulator: EmulatorProcess
let key: { id: string; key: string; name: string; createdAt: string; expiresAt: string | null }
let popId: string

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'eyepop-e2e-'))
  key = await runCliJson(['keys', 'create', '--name', 'e2e server', '--expires', '30d', '--data-dir', dataDir])
  popId = (await runCliJson<{ id: string }>(['pops', 'create', '--name', 'e2e pop', '--data-dir', dataDir])).id
  emulator = await startEmulatorProcess(['--data-dir', dataDir])
})

afterAll(async () => {
  await emulator?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('the CLI', () => {
  it('prints a created key once, with its metadata', () => {
    expect(key).toMatchObject({ id: expect.stringMatching(/^key_/), name: 'e2e server', key: expect.stringMatching(/^eyp_[A-Za-z0-9]{50}$/), createdAt: expect.any(String), expiresAt: expect.any(String) })
  })

  it('lists keys without their secret', async () => {
    const listed = await runCli(['keys', 'list', '--data-dir', dataDir])
    const listedJson = await runCli(['keys', 'list', '--json', '--data-dir', dataDir])
    for (const out of [listed.stdout, listedJson.stdout]) {
      expect(out).toContain(key.id)
      expect(out).not.toContain(key.key)
    }
    expect(JSON.parse(listedJson.stdout)[0]).not.toHaveProperty('key')
  })

  it('prints how to point the SDK at the emulator on start', () => {
    expect(emulator.output()).toContain(`eyepopUrl: '${emulator.url}'`)
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('refuses bad input with a clear message and exit code 1', async () => {
    const bad = await runCli(['keys', 'delete', 'key_doesnotexist', '--data-dir', dataDir])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('api key not found')
    const badName = await runCli(['keys', 'create', '--name', ' ', '--data-dir', dataDir])
    expect(badName.code).toBe(1)
    expect(badName.stderr).toContain('name must not be empty')
  })
})

describe('the EyePop SDK 1.18.1 against the emulator', () => {
  it('connects a worker endpoint with a popId', async () => {
    const endpoint = EyePop.workerEndpoint({ eyepopUrl: emulator.url, auth: { secretKey: key.key }, popId, logger })
    await endpoint.connect()
    const session = await endpoint.session()
    expect(session.accessToken).toMatch(/^ey/)
    expect(session.eyepopUrl).toBe(emulator.url)
    expect(session.popId).toBe(popId)
    await endpoint.disconnect()
  })

  it('connects and disconnects a transient worker: its pipeline is served while connected, gone after', async () => {
    const endpoint = EyePop.workerEndpoint({ eyepopUrl: emulator.url, auth: { secretKey: key.key }, logger })
    await endpoint.connect()
    const session = await endpoint.session()
    expect(session.pipelineId).toEqual(expect.any(String))
    const pipeline = () =>
      fetch(`${session.baseUrl ?? emulator.url}/pipelines/${session.pipelineId}`, { headers: { Authorization: `Bearer ${session.accessToken}` } })
    const served = await pipeline()
    expect(served.status).toBe(200)
    expect(await served.json()).toMatchObject({ id: session.pipelineId })
    await endpoint.disconnect()
    expect((await pipeline()).status).toBe(404)
  })

  it('fails to connect with a wrong key', async () => {
    const wrong = key.key.slice(0, 10) + (key.key[10] === 'a' ? 'b' : 'a') + key.key.slice(11)
    const endpoint = EyePop.workerEndpoint({ eyepopUrl: emulator.url, auth: { secretKey: wrong }, popId, logger })
    await expect(endpoint.connect()).rejects.toMatch(/401/)
  })

  it('fails with a key deleted by the CLI, and its tokens stop working within a second', async () => {
    const doomed = await runCliJson<{ id: string; key: string }>(['keys', 'create', '--name', 'doomed', '--data-dir', dataDir])
    const endpoint = EyePop.workerEndpoint({ eyepopUrl: emulator.url, auth: { secretKey: doomed.key }, popId, logger })
    await endpoint.connect()
    const { accessToken } = await endpoint.session()
    await endpoint.disconnect()

    const deleted = await runCli(['keys', 'delete', doomed.id, '--data-dir', dataDir])
    expect(deleted.code).toBe(0)
    const deletedAt = Date.now()
    let status = 0
    while (Date.now() - deletedAt < 1000) {
      status = (await fetch(`${emulator.url}/pops/${popId}/config`, { headers: { Authorization: `Bearer ${accessToken}` } })).status
      if (status === 401) break
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(status).toBe(401)

    const again = EyePop.workerEndpoint({ eyepopUrl: emulator.url, auth: { secretKey: doomed.key }, popId, logger })
    await expect(again.connect()).rejects.toMatch(/401/)
  })
})

describe('a restart on the same data dir', () => {
  it('keeps keys, Pops and signing keys: earlier tokens stay valid', async () => {
    const res = await fetch(`${emulator.url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${key.key}` } })
    expect(res.status).toBe(200)
    const { access_token: before } = (await res.json()) as { access_token: string }

    // Same data dir, same address: the issuer is the base URL, so a token is tied to it.
    const port = new URL(emulator.url).port
    await emulator.stop()
    // Another process may take the freed port for a moment: try again a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        emulator = await startEmulatorProcess(['--data-dir', dataDir, '--port', port])
        break
      } catch (err) {
        if (attempt >= 5 || !/EADDRINUSE/.test(String(err))) throw err
        await new Promise((r) => setTimeout(r, 250))
      }
    }

    const config = await fetch(`${emulator.url}/pops/${popId}/config`, { headers: { Authorization: `Bearer ${before}` } })
    expect(config.status).toBe(200)
    const endpoint = EyePop.workerEndpoint({ eyepopUrl: emulator.url, auth: { secretKey: key.key }, popId, logger })
    await endpoint.connect()
    await endpoint.disconnect()
  })
})
