/**
 * A seeded fuzz run over every route, method, header and body shape (see fuzz.ts), against the
 * emulator on a real socket: no 5xx, no hang, no credential echoed, a JSON error body on every
 * API 4xx, no error left uncaught in the server, and the server still serving at the end. `FUZZ_REQUESTS` (default 3,000) and
 * `FUZZ_SEED` (default 20261201) set the run; `npm run fuzz -w @eyepop/emulator` runs 100,000.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/main.js'
import { problemsWith, requestGenerator, seededRandom, send, type FuzzFixture } from './fuzz.js'
import { startTestServer } from '../helpers.js'

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000)
const SEED = Number(process.env.FUZZ_SEED ?? 20261201)
/** Requests in flight at once. */
const CONCURRENCY = 8

let running: RunningServer
let fixture: FuzzFixture

beforeAll(async () => {
  running = await startTestServer()
  const { services, tokens } = running.emulator
  const accountId = services.defaultAccount.id
  const key = await services.keys.create(accountId, { name: 'fuzz', expires: 'never' })
  const pop = await services.pops.create(accountId, { name: 'fuzz pop' })
  const accessToken = (await tokens.exchangeApiKey(key.key)).access_token
  const temporary = await tokens.mintTemporaryKey({ apiKey: key.key }, { popId: pop.id })
  const auth = { Authorization: `Bearer ${accessToken}` }
  const pipelineId = ((await (await fetch(`${running.url}/pops/${pop.id}/config`, { headers: auth })).json()) as { pipeline_id: string }).pipeline_id
  const [session] = (await (await fetch(`${running.url}/v1/sessions`, { method: 'POST', headers: auth })).json()) as Array<{ session_uuid: string }>
  fixture = { apiKey: key.key, accessToken, temporaryKey: temporary.accessToken, popId: pop.id, pipelineId, sessionUuid: session!.session_uuid, keyId: key.id }
  await running.emulator.ready
})
afterAll(() => running?.close())

describe(`fuzz: ${REQUESTS} seeded requests (seed ${SEED})`, () => {
  it('never answers 5xx, never hangs, never echoes a credential, and keeps serving', { timeout: Math.max(60_000, REQUESTS * 40) }, async () => {
    const base = new URL(running.url)
    const next = requestGenerator(seededRandom(SEED), fixture)
    const requests = Array.from({ length: REQUESTS }, next)
    const secrets = [fixture.apiKey, fixture.accessToken, fixture.temporaryKey]
    const failures: string[] = []
    const statuses = new Map<number, number>()
    // The server runs in this process: an error nothing handles would have ended it.
    const uncaught: string[] = []
    const onUncaught = (err: unknown) => uncaught.push(String(err))
    process.prependListener('uncaughtException', onUncaught)
    process.prependListener('unhandledRejection', onUncaught)
    let cursor = 0
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (cursor < requests.length) {
          const i = cursor++
          const req = requests[i]!
          const answer = await send(base, req).catch((err: Error) => ({ status: -2, headers: {}, body: err.message }))
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
          const problems = answer.status === -2 ? [answer.body] : problemsWith(req, answer, secrets)
          if (problems.length > 0 && failures.length < 20) {
            failures.push(`#${i} ${req.method} ${req.path.slice(0, 120)} [${req.headers.map(([n]) => n).join(', ')}]: ${problems.join('; ')} — ${answer.body.slice(0, 200)}`)
          }
        }
      }),
    ).finally(() => {
      process.off('uncaughtException', onUncaught)
      process.off('unhandledRejection', onUncaught)
    })
    expect(uncaught, `seed ${SEED}: uncaught in the server`).toEqual([])
    expect(failures, `seed ${SEED}`).toEqual([])
    // Every kind of answer was seen: the run reached the routes, not only the 404 handler.
    for (const status of [200, 400, 401, 403, 404]) expect(statuses.get(status) ?? 0, `answers ${status}`).toBeGreaterThan(0)
    // Still serving, for a well-formed client.
    const health = await fetch(`${running.url}/healthz`)
    expect(health.status).toBe(200)
    const token = await fetch(`${running.url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${fixture.apiKey}` } })
    expect(token.status).toBe(200)
  })
})
