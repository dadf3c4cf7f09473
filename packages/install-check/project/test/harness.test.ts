/**
 * Runs in the installed project: `@eyepop/emulator/testing` as an app's tests use it, with the
 * real EyePop Node SDK 3.17.2: a key it seeds, virtual time (a token refused after `advance`), a
 * fault the SDK meets on connect (its error path), `reset` and `close`.
 */
import { EyePop } from '@eyepop.ai/eyepop'
import { startEmulator, type TestEmulator } from '@eyepop/emulator/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** The SDK logs to stdout by default; this keeps the run's output to vitest's. */
const quiet = { child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} }

let emu: TestEmulator
beforeAll(async () => {
  emu = await startEmulator({ clock: 'virtual' })
})
afterAll(() => emu?.close())

const endpointOf = (apiKey: string) => EyePop.workerEndpoint({ eyepopUrl: emu.url, apiKey, pop: { components: [] }, logger: quiet })

describe('@eyepop/emulator/testing from the installed package', () => {
  it('seeds a key the SDK connects with, then refuses its token once the clock has passed its expiry', async () => {
    const { key } = await emu.createApiKey({ name: 'ci', expires: '30d' })
    const { id: popId } = await emu.createPop({ name: 'shelf' })
    const endpoint = endpointOf(key)
    await endpoint.connect()
    const { accessToken } = await endpoint.session()
    await endpoint.disconnect()
    const config = () => fetch(`${emu.url}/pops/${popId}/config`, { headers: { authorization: `Bearer ${accessToken}` } })
    expect((await config()).status).toBe(200)
    emu.clock.advance(3601)
    expect((await config()).status).toBe(401)
  })

  it("fails the SDK's connect with the service's error when the session route faults, then serves it", async () => {
    const { key } = await emu.createApiKey()
    emu.faults.next('POST /v1/sessions', { status: 503 })
    await expect(endpointOf(key).connect()).rejects.toThrow(/503/)
    const endpoint = endpointOf(key)
    await endpoint.connect()
    await endpoint.disconnect()
  })

  it('resets to an empty account at the same url: the keys of before are refused', async () => {
    const { key } = await emu.createApiKey()
    const url = emu.url
    await emu.reset()
    expect(emu.url).toBe(url)
    const res = await fetch(`${emu.url}/v1/auth/authenticate`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
    expect(res.status).toBe(401)
  })
})
