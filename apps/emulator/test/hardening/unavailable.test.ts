/**
 * What the emulator cannot answer now gets 503 `temporarily_unavailable` with `Retry-After` and a
 * JSON body, the same on every route: the OAuth provider that failed to load, and a stale
 * revocation list on routes that verify tokens themselves (as auth-core's middleware answers it).
 */
import { errors } from '@eyepop/auth-core'
import express from 'express'
import { pino } from 'pino'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket } from 'ws'
import { errorHandler, toOAuthError } from '../../src/http/error-handler.js'
import { eventsSocket } from '../../src/routes/data.js'
import { createTestEmulator, type TestEmulator } from '../helpers.js'

vi.mock('../../src/oauth-server.js', () => ({
  createOAuthServer: () => {
    throw new Error('oidc-provider could not be built')
  },
}))

let emulator: TestEmulator

beforeAll(async () => {
  emulator = await createTestEmulator()
  await emulator.ready.catch(() => undefined)
})
afterAll(() => emulator.close())

function expectUnavailable(res: request.Response, retryAfter: string) {
  expect(res.status, res.text).toBe(503)
  expect(res.headers['retry-after']).toBe(retryAfter)
  expect(res.body).toMatchObject({ error: 'temporarily_unavailable', error_description: expect.any(String), message: expect.any(String) })
  expect(res.text).not.toContain('oidc-provider could not be built')
}

describe('when the OAuth provider failed to load', () => {
  it('answers the routes that need it with 503 and Retry-After, not 500', async () => {
    await expect(emulator.ready).rejects.toThrow('oidc-provider could not be built')
    expectUnavailable(await request(emulator.app).get('/.well-known/openid-configuration'), '5')
    expectUnavailable(await request(emulator.app).get('/.well-known/oauth-authorization-server'), '5')
    expectUnavailable(await request(emulator.app).post('/token').type('form').send({ grant_type: 'client_credentials' }), '5')
    expectUnavailable(await request(emulator.handler).post('/token').type('form').send({ grant_type: 'client_credentials' }), '5')
    expectUnavailable(await request(emulator.app).get('/interaction/abc'), '5')
  })

  it('still answers the EyePop token routes, which do not need it', async () => {
    const { key } = await emulator.createKey()
    await request(emulator.handler).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`).expect(200)
  })
})

describe('a stale revocation list on a route that verifies tokens itself', () => {
  it('maps to 503 temporarily_unavailable with Retry-After, as through the middleware', async () => {
    const stale = new errors.RevocationStale('revocation status is unknown: the revocation list could not be refreshed')
    expect(toOAuthError(stale)).toMatchObject({ status: 503, error: 'temporarily_unavailable', expose: true, retryAfterSeconds: 1 })
    const app = express()
    app.get('/verifies-itself', () => {
      throw stale
    })
    app.use(errorHandler(pino({ level: 'silent' })))
    const res = await request(app).get('/verifies-itself')
    expectUnavailable(res, '1')
    expect(res.body.error_description).toBe('revocation status is unknown: the revocation list could not be refreshed')
  })
})

describe('a stale revocation list on the event WebSocket', () => {
  it('closes it with 1013 (try again later) and the same temporarily_unavailable answer', async () => {
    const events = eventsSocket({
      verify: async () => {
        throw new errors.RevocationStale('revocation status is unknown: the revocation list could not be refreshed')
      },
      recheckMs: 60_000,
      maxSockets: 4,
      maxSocketsPerAccount: 4,
    })
    const server = createServer()
    server.on('upgrade', events.handleUpgrade)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/data/events`)
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      )
      ws.on('open', () => ws.send(JSON.stringify({ authorization: 'Bearer aaa.bbb.ccc' })))
      expect(await closed).toEqual({
        code: 1013,
        reason: 'temporarily_unavailable: revocation status is unknown: the revocation list could not be refreshed',
      })
    } finally {
      events.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
