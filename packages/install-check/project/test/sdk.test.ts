/**
 * Runs in the installed project, against the packed packages (no workspace links): an emulator
 * started in process from `@eyepop/emulator`, an API key made through its services, the real
 * EyePop Node SDK 3.17.2 connecting with that key, and the SDK's access token verified with
 * `@eyepop/auth-core` against the emulator's signing keys.
 */
import { EyePop } from '@eyepop.ai/eyepop'
import { createAccessTokenVerifier, parseApiKey } from '@eyepop/auth-core'
import { startServer, type RunningServer } from '@eyepop/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** The SDK logs to stdout by default; this keeps the run's output to vitest's. */
const quiet = { child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} }

let running: RunningServer
beforeAll(async () => {
  running = await startServer({ port: 0, host: '127.0.0.1', dataDir: null, logLevel: 'silent' })
  await running.emulator.ready
})
afterAll(() => running?.close())

describe('the real EyePop Node SDK against an emulator started from the installed package', () => {
  it('connects with an API key made through the emulator, and its access token verifies with auth-core', async () => {
    const { services } = running.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'install check', expires: '7d' })
    expect(parseApiKey(created.key).key).toBe(created.key)

    const endpoint = EyePop.workerEndpoint({ eyepopUrl: running.url, apiKey: created.key, pop: { components: [] }, logger: quiet })
    await endpoint.connect()
    try {
      const session = await endpoint.session()
      const verify = createAccessTokenVerifier({
        issuer: running.emulator.issuer,
        audience: running.emulator.config.audience,
        keys: running.emulator.keyring,
      })
      const { claims } = await verify(session.accessToken)
      expect({ eyepopUrl: session.eyepopUrl, keyId: claims.key_id }).toEqual({ eyepopUrl: running.url, keyId: created.id })
    } finally {
      await endpoint.disconnect()
    }
  })
})
