/**
 * auth-core's token client against a listening emulator, over real HTTP, on all three protocol
 * generations: the same client code a customer's server runs.
 */
import { createTokenClient } from '@eyepop/auth-core'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/main.js'
import { startTestServer } from '../helpers.js'

let running: RunningServer
let key: string
let keyId: string
let popId: string

beforeAll(async () => {
  running = await startTestServer()
  const { services } = running.emulator
  const created = await services.keys.create(services.defaultAccount.id, { name: 'client', expires: 'never' })
  key = created.key
  keyId = created.id
  popId = (await services.pops.create(services.defaultAccount.id, { name: 'client pop' })).id
})
afterAll(() => running.close())

describe.each(['v1', 'legacy', 'oauth'] as const)('createTokenClient with protocol %s', (protocol) => {
  it('gets a token of the key and calls the Pop with it', async () => {
    const client = createTokenClient({ eyepopUrl: running.url, apiKey: key, protocol })
    const token = await client.getAccessToken()
    expect(decodeJwt(token)).toMatchObject({ key_id: keyId, iss: running.url })
    const res = await client.fetch(`${running.url}/pops/${popId}/config`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ base_url: '/worker' })
  })

  it('makes one token request for 100 concurrent callers', async () => {
    let tokenRequests = 0
    const counting: typeof fetch = (input, init) => {
      if (!String(input).includes('/pops/')) tokenRequests++
      return fetch(input, init)
    }
    const client = createTokenClient({ eyepopUrl: running.url, apiKey: key, protocol, fetch: counting })
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getAccessToken()))
    expect(new Set(tokens).size).toBe(1)
    expect(tokenRequests).toBe(1)
  })

  it('rejects an unknown key with ERR_TOKEN_REQUEST_FAILED and never shows it', async () => {
    const { generateApiKey } = await import('@eyepop/auth-core')
    const unknown = generateApiKey()
    const client = createTokenClient({ eyepopUrl: running.url, apiKey: unknown, protocol })
    const err = await client.getAccessToken().catch((e: unknown) => e as Error)
    expect(err).toMatchObject({ code: 'ERR_TOKEN_REQUEST_FAILED', status: protocol === 'oauth' ? 400 : 401 })
    expect(String(err)).not.toContain(unknown)
  })
})
