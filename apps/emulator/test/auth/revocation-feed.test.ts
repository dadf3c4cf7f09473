/**
 * A resource server in another process: it verifies the emulator's tokens against the remote
 * JWKS and polls the revocation feed, so a deleted key's tokens stop working within a second with
 * no call to the emulator per request.
 */
import {
  createAccessTokenVerifier,
  createRemoteRevocationSource,
  createRevocationList,
  createTokenClient,
  type RevocationList,
} from '@eyepop/auth-core'
import { createRemoteJWKSet } from 'jose'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/main.js'
import { startTestServer } from '../helpers.js'

let running: RunningServer
let revocations: RevocationList

beforeAll(async () => {
  running = await startTestServer()
  revocations = await createRevocationList({
    source: createRemoteRevocationSource(`${running.url}/v1/auth/revocations`),
    pollIntervalMs: 100,
  })
})
afterAll(async () => {
  revocations.stop()
  await running.close()
})

describe('GET /v1/auth/revocations', () => {
  it('lists deleted key ids after a cursor', async () => {
    const { services } = running.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'feed', expires: 'never' })
    const before = (await request(running.emulator.app).get('/v1/auth/revocations').expect(200)).body
    await services.keys.delete(services.defaultAccount.id, created.id)
    const after = (await request(running.emulator.app).get(`/v1/auth/revocations?cursor=${before.cursor}`).expect(200)).body
    expect(after.revoked).toEqual([{ key_id: created.id, deleted_at: expect.any(Number) }])
    expect(after.revoked_tokens).toEqual([])
    expect(after.cursor).toBeGreaterThan(before.cursor)
    expect(JSON.stringify(after)).not.toContain(created.key)
  })

  it('responds 400 to a bad cursor', async () => {
    for (const cursor of ['-1', 'abc', '1e3', '9'.repeat(40)]) {
      const res = await request(running.emulator.app).get(`/v1/auth/revocations?cursor=${cursor}`)
      expect(res.status).toBe(400)
      expect(res.body).toMatchObject({ error: 'invalid_request' })
    }
  })
})

describe('a remote resource server', () => {
  it('stops accepting a deleted key token within a second', async () => {
    const { services } = running.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'remote', expires: 'never' })
    const verify = createAccessTokenVerifier({
      issuer: running.url,
      audience: 'https://api.eyepop.ai',
      keys: createRemoteJWKSet(new URL(`${running.url}/jwks`)),
      revocations,
    })
    const token = await createTokenClient({ eyepopUrl: running.url, apiKey: created.key }).getAccessToken()
    await expect(verify(token)).resolves.toMatchObject({ claims: { key_id: created.id } })

    await services.keys.delete(services.defaultAccount.id, created.id)
    const deletedAt = Date.now()
    await expect.poll(() => verify(token).then(() => 'valid', (e: { code: string }) => e.code), { timeout: 1000, interval: 20 }).toBe('ERR_TOKEN_REVOKED')
    expect(Date.now() - deletedAt).toBeLessThan(1000)
  })
})
