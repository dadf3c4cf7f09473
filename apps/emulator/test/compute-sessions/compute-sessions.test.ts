/**
 * The compute API of the EyePop SDK 3.x (eyepop-auth-protocol.md §2.2, §2.3, §2.5, §2.7): compute
 * sessions, the worker's health check and `/v1/configs`, tested standalone over the emulator's
 * services (see compute-sessions.config.ts).
 */
import { decodeJwt } from 'jose'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_SESSIONS_PER_ACCOUNT } from '../../src/services/compute-sessions.js'
import { createTestEmulator } from '../helpers.js'
import { createComputeSessionsFixture, type ComputeSessionsFixture } from './compute-sessions.config.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const bearer = (credential: string) => ({ Authorization: `Bearer ${credential}` })

let fixture: ComputeSessionsFixture
let key: { id: string; key: string }
let accessToken: string

function expectError(res: request.Response, status: number, error: string, secrets: string[] = []) {
  expect(res.status, res.text).toBe(status)
  expect(res.body).toMatchObject({ error, error_description: expect.any(String) })
  for (const secret of secrets) expect(res.text).not.toContain(secret)
}

/** A fresh account with a key, so each test starts with no sessions. */
async function freshAccount() {
  const other = await fixture.emulator.createOtherAccount()
  return other.key.key
}

function createSession(credential: string) {
  return request(fixture.app).post('/v1/sessions?wait=true').set(bearer(credential))
}

beforeAll(async () => {
  fixture = await createComputeSessionsFixture()
  key = await fixture.emulator.createKey('server')
  accessToken = (await fixture.emulator.tokens.exchangeApiKey(key.key)).access_token
})
afterAll(() => fixture.close())

describe('POST /v1/sessions?wait=true', () => {
  describe('with the API key as Bearer and no body (the Node SDK)', () => {
    it('responds 200 with a JSON array holding one running session and its worker token', async () => {
      const apiKey = await freshAccount()
      const before = Date.now()
      const res = await createSession(apiKey).expect(200)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.body).toEqual([
        expect.objectContaining({
          session_uuid: expect.stringMatching(UUID),
          session_endpoint: `${fixture.emulator.issuer}/worker`,
          pipeline_uuid: expect.stringMatching(UUID),
          session_status: 'running',
          persistent: false,
          access_token: expect.any(String),
          access_token_expires_at: expect.any(String),
          access_token_expires_in: 3600,
        }),
      ])
      const [session] = res.body
      expect(Date.parse(session.access_token_expires_at)).toBeGreaterThanOrEqual(before + 3_599_000)
      expect(res.text).not.toContain(apiKey)
    })

    it('gives a token of the same key, narrowed to inference, that the mock worker accepts', async () => {
      const [session] = (await createSession(key.key).expect(200)).body
      const { claims } = await fixture.emulator.verify(session.access_token)
      expect(claims).toMatchObject({ key_id: key.id, scope: 'access:inference-api', sub: fixture.emulator.accountId })
      expect(claims.temporary).toBeUndefined()
      const started = await request(fixture.emulator.app).post('/worker/pipelines').set(bearer(session.access_token)).send({}).expect(200)
      await request(fixture.emulator.app).delete(`/worker/pipelines/${started.body.id}`).set(bearer(session.access_token)).expect(204)
    })
  })

  describe('with a JSON content type and an empty body', () => {
    it('responds 200, as with no body', async () => {
      const res = await createSession(key.key).set('Content-Type', 'application/json').set('Content-Length', '0')
      expect(res.status, res.text).toBe(200)
    })
  })

  describe('with an empty chunked body and no content type', () => {
    it('responds 200, as with no body', async () => {
      const res = await createSession(key.key).set('Transfer-Encoding', 'chunked').send('').unset('Content-Type')
      expect(res.status, res.text).toBe(200)
    })
  })

  describe('with a JSON body (the Python SDK)', () => {
    it('responds 200 and keeps the session name and pipeline version', async () => {
      const res = await request(fixture.app)
        .post('/v1/sessions?wait=true&transient=True')
        .set(bearer(accessToken))
        .send({ session_name: 'contract', pipeline_version: '1.2.3', pop: { components: [] } })
        .expect(200)
      expect(res.body[0]).toMatchObject({ session_name: 'contract', pipeline_version: '1.2.3' })
    })
  })

  describe('with bad input', () => {
    it('responds 400 invalid_request for a body that is not JSON', async () => {
      const res = await createSession(key.key).set('Content-Type', 'text/plain').send('hello')
      expectError(res, 400, 'invalid_request')
    })

    it('responds 400 invalid_request for a body without a content type', async () => {
      const res = await createSession(key.key).set('Content-Length', '5').serialize(() => 'hello').send('hello').unset('Content-Type')
      expectError(res, 400, 'invalid_request')
    })

    it('responds 400 invalid_request for a wait that is not a boolean', async () => {
      expectError(await request(fixture.app).post('/v1/sessions?wait=soon').set(bearer(key.key)), 400, 'invalid_request')
    })

    it('responds 400 invalid_request for a session name that is not a string', async () => {
      expectError(await createSession(key.key).send({ session_name: 42 }), 400, 'invalid_request')
    })
  })

  describe('when the account holds its limit of sessions', () => {
    it('responds 409 limit_exceeded', async () => {
      const apiKey = await freshAccount()
      for (let i = 0; i < MAX_SESSIONS_PER_ACCOUNT; i++) await createSession(apiKey).expect(200)
      expectError(await createSession(apiKey), 409, 'limit_exceeded')
    })

    it('is the configured limit (maxSessionsPerAccount, --max-sessions-per-account)', async () => {
      const small = await createTestEmulator({ maxSessionsPerAccount: 2 })
      try {
        const { key: apiKey } = await small.createKey('two sessions')
        const open = () => request(small.app).post('/v1/sessions?wait=true').set(bearer(apiKey))
        await open().expect(200)
        await open().expect(200)
        const refused = await open()
        expectError(refused, 409, 'limit_exceeded')
        expect(refused.body.error_description).toContain('2 live compute sessions')
      } finally {
        await small.close()
      }
    })
  })

  describe('with an API key from a browser', () => {
    it('responds 403 access_denied', async () => {
      const res = await createSession(key.key).set('Origin', 'http://localhost:3000')
      expectError(res, 403, 'access_denied', [key.key])
    })
  })
})

describe('GET /v1/sessions', () => {
  describe('when the account has no session', () => {
    it('responds 200 with an empty array (the Python SDK fails on a 404 here)', async () => {
      const res = await request(fixture.app).get('/v1/sessions').set(bearer(await freshAccount())).expect(200)
      expect(res.body).toEqual([])
    })
  })

  describe('when the account has sessions', () => {
    it('responds 200 with its sessions only, each with a fresh worker token', async () => {
      const apiKey = await freshAccount()
      const [mine] = (await createSession(apiKey).expect(200)).body
      await createSession(key.key).expect(200)
      const res = await request(fixture.app).get('/v1/sessions').set(bearer(apiKey)).expect(200)
      expect(res.body).toEqual([expect.objectContaining({ session_uuid: mine.session_uuid, access_token: expect.any(String) })])
    })
  })

  describe("with a session's own token (a browser after a hand-off)", () => {
    it('responds 200 with the session, and a token that never outlives the one presented', async () => {
      const [session] = (await createSession(key.key).expect(200)).body
      const res = await request(fixture.app).get('/v1/sessions').set(bearer(session.access_token)).expect(200)
      const again = res.body.find((s: { session_uuid: string }) => s.session_uuid === session.session_uuid)
      expect(again).toBeDefined()
      expect(decodeJwt(again.access_token).exp).toBeLessThanOrEqual(decodeJwt(session.access_token).exp!)
    })
  })

  describe('with a temporary key', () => {
    it('responds 403 access_denied', async () => {
      const pop = await fixture.emulator.createPop('browser pop')
      const temporary = await fixture.emulator.tokens.mintTemporaryKey({ apiKey: key.key }, { popId: pop.id })
      expectError(await request(fixture.app).get('/v1/sessions').set(bearer(temporary.accessToken)), 403, 'access_denied')
    })
  })

  describe('without a valid credential', () => {
    it('responds 401 without an Authorization header', async () => {
      expectError(await request(fixture.app).get('/v1/sessions'), 401, 'invalid_client')
    })

    it('responds 401 invalid_client for a deleted key, without echoing it', async () => {
      const created = await fixture.emulator.createKey('to delete')
      await fixture.emulator.services.keys.delete(fixture.emulator.accountId, created.id)
      expectError(await request(fixture.app).get('/v1/sessions').set(bearer(created.key)), 401, 'invalid_client', [created.key])
    })

    it('responds 401 invalid_token for a token that does not verify', async () => {
      expectError(await request(fixture.app).get('/v1/sessions').set(bearer('not.a.token')), 401, 'invalid_token')
    })
  })
})

describe('GET /v1/sessions/{uuid}', () => {
  it('responds 200 with the session', async () => {
    const [session] = (await createSession(key.key).expect(200)).body
    const res = await request(fixture.app).get(`/v1/sessions/${session.session_uuid}`).set(bearer(accessToken)).expect(200)
    expect(res.body).toMatchObject({ session_uuid: session.session_uuid, session_status: 'running', access_token: expect.any(String) })
  })

  describe("with another account's session, an unknown or a malformed uuid", () => {
    it('responds 404 not_found for each', async () => {
      const [theirs] = (await createSession(await freshAccount()).expect(200)).body
      for (const uuid of [theirs.session_uuid, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        expectError(await request(fixture.app).get(`/v1/sessions/${uuid}`).set(bearer(key.key)), 404, 'not_found')
      }
    })
  })
})

describe('DELETE /v1/sessions/{uuid}', () => {
  it('responds 204, then 404 once the session is gone', async () => {
    const [session] = (await createSession(key.key).expect(200)).body
    await request(fixture.app).delete(`/v1/sessions/${session.session_uuid}`).set(bearer(key.key)).expect(204)
    expectError(await request(fixture.app).delete(`/v1/sessions/${session.session_uuid}`).set(bearer(key.key)), 404, 'not_found')
    expectError(await request(fixture.app).get(`/v1/sessions/${session.session_uuid}`).set(bearer(key.key)), 404, 'not_found')
  })
})

describe('GET {session_endpoint}/health', () => {
  it("responds 200 {message: \"I'm fine\"} to the session's token", async () => {
    const [session] = (await createSession(key.key).expect(200)).body
    const path = new URL(`${session.session_endpoint}/health`).pathname
    const res = await request(fixture.app).get(path).set(bearer(session.access_token)).set('Accept', 'application/json').expect(200)
    expect(res.body).toEqual({ message: "I'm fine" })
  })

  it('responds 401 without a credential', async () => {
    expectError(await request(fixture.app).get('/worker/health'), 401, 'invalid_client')
  })
})

describe('GET /v1/configs', () => {
  it('responds 200 with the dataset and VLM API URLs, relative to the base URL', async () => {
    const res = await request(fixture.app).get('/v1/configs').set(bearer(accessToken)).expect(200)
    expect(res.body).toEqual({ dataset_api_url: '/data', vlm_api_url: '/vlm' })
    await request(fixture.app).get(`/v1/configs?account_uuid=${fixture.emulator.accountId}`).set(bearer(accessToken)).expect(200)
  })

  describe('with the API key itself', () => {
    it('responds 401 invalid_token: it must be exchanged first', async () => {
      expectError(await request(fixture.app).get('/v1/configs').set(bearer(key.key)), 401, 'invalid_token', [key.key])
    })
  })

  describe("with a session's inference-only token", () => {
    it('responds 403 insufficient_scope', async () => {
      const [session] = (await createSession(key.key).expect(200)).body
      expectError(await request(fixture.app).get('/v1/configs').set(bearer(session.access_token)), 403, 'insufficient_scope')
    })
  })

  describe('with another account_uuid', () => {
    it('responds 403 access_denied', async () => {
      const res = await request(fixture.app).get('/v1/configs?account_uuid=00000000-0000-4000-8000-000000000000').set(bearer(accessToken))
      expectError(res, 403, 'access_denied')
    })
  })
})

describe('mounted by createApp (the real emulator)', () => {
  it('serves the compute API next to the mock worker, with the CORS preflight of a browser', async () => {
    const app = fixture.emulator.app
    const [session] = (await request(app).post('/v1/sessions?wait=true').set(bearer(key.key)).expect(200)).body
    await request(app).get('/worker/health').set(bearer(session.access_token)).expect(200, { message: "I'm fine" })
    await request(app).get(`/v1/sessions/${session.session_uuid}`).set(bearer(session.access_token)).expect(200)
    await request(app).get('/v1/configs').set(bearer(accessToken)).expect(200)
    const preflight = await request(app)
      .options('/v1/sessions')
      .set('Origin', 'http://localhost:3000')
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'authorization')
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('http://localhost:3000')
  })
})

describe('a session and its pipeline (createApp: the compute API and the mock worker together)', () => {
  const app = () => fixture.emulator.app

  async function openSession(credential: string, body?: object): Promise<{ session_uuid: string; pipeline_uuid: string; access_token: string }> {
    const req = request(app()).post('/v1/sessions?wait=true').set(bearer(credential))
    return (await (body ? req.send(body) : req).expect(200)).body[0]
  }

  it('names a pipeline that exists on the worker and answers the SDKs’ jobs with predictions', async () => {
    const session = await openSession(await freshAccount())
    const res = await request(app())
      .patch(`/worker/pipelines/${session.pipeline_uuid}/source?mode=queue&processing=sync`)
      .set(bearer(session.access_token))
      .send({ sourceType: 'URL', url: 'https://images.invalid/a.jpg' })
      .expect(200)
    expect(JSON.parse(res.text.trim())).toMatchObject({ source_width: 640, objects: [expect.objectContaining({ classLabel: 'person' })] })
  })

  it('reports strings, never null, for the name and pipeline version it was not given (the Python model wants str)', async () => {
    const session = (await request(app()).post('/v1/sessions').set(bearer(key.key)).expect(200)).body[0]
    expect(session).toMatchObject({ session_name: '', pipeline_version: '', pipelines: [{ id: session.pipeline_uuid, pipeline_id: session.pipeline_uuid }] })
  })

  it('ends when its pipeline is deleted (what both SDKs do on disconnect), and is listed no more', async () => {
    const apiKey = await freshAccount()
    const session = await openSession(apiKey)
    await request(app()).delete(`/worker/pipelines/${session.pipeline_uuid}`).set(bearer(session.access_token)).expect(204)
    expectError(await request(app()).get(`/v1/sessions/${session.session_uuid}`).set(bearer(apiKey)), 404, 'not_found')
    expect((await request(app()).get('/v1/sessions').set(bearer(apiKey)).expect(200)).body).toEqual([])
  })

  it('stops its pipeline when deleted: a job on it then gets 404 (the SDKs reconnect on it)', async () => {
    const apiKey = await freshAccount()
    const session = await openSession(apiKey)
    await request(app()).delete(`/v1/sessions/${session.session_uuid}`).set(bearer(apiKey)).expect(204)
    const res = await request(app()).patch(`/worker/pipelines/${session.pipeline_uuid}/source`).set(bearer(session.access_token)).send({ sourceType: 'URL', url: 'https://images.invalid/a.jpg' })
    expectError(res, 404, 'not_found')
  })

  it('counts live sessions only against the cap, and its 409 says how to free one', async () => {
    const apiKey = await freshAccount()
    const opened = []
    for (let i = 0; i < MAX_SESSIONS_PER_ACCOUNT; i++) opened.push(await openSession(apiKey))
    const refused = await request(app()).post('/v1/sessions?wait=true').set(bearer(apiKey))
    expectError(refused, 409, 'limit_exceeded')
    expect(refused.body.message).toBe(refused.body.error_description)
    expect(refused.body.error_description).toMatch(/20 live compute sessions.*DELETE \/v1\/sessions\/\{uuid\}.*disconnect\(\).*300 s/)
    await request(app()).delete(`/worker/pipelines/${opened[0]!.pipeline_uuid}`).set(bearer(opened[0]!.access_token)).expect(204)
    await openSession(apiKey)
  })

  it("runs one of the account's Pops when `pop` is its id (its canned predictions), and refuses another account's", async () => {
    const pop = await fixture.emulator.createPop('session pop')
    const session = await openSession(key.key, { pop: pop.id })
    await request(app()).get(`/worker/pipelines/${session.pipeline_uuid}`).set(bearer(session.access_token)).expect(200)
    const theirs = await fixture.emulator.createOtherAccount()
    expectError(await request(app()).post('/v1/sessions').set(bearer(key.key)).send({ pop: theirs.pop.id }), 400, 'invalid_target')
    expectError(await request(app()).post('/v1/sessions').set(bearer(key.key)).send({ pop: [1] }), 400, 'invalid_request')
  })
})

describe('a session left unused', () => {
  it('ends after the idle time (its pipeline stops); one in use does not', async () => {
    let now = Date.now()
    const emulator = await createTestEmulator({ sessionIdleTimeoutSeconds: 60 }, { now: () => now })
    try {
      const apiKey = (await emulator.createKey('idle')).key
      const open = async () => (await request(emulator.app).post('/v1/sessions').set(bearer(apiKey)).expect(200)).body[0]
      const idle = await open()
      const busy = await open()
      now += 40_000
      // A job on its pipeline counts as use.
      await request(emulator.app).patch(`/worker/pipelines/${busy.pipeline_uuid}/source`).set(bearer(busy.access_token)).send({ sourceType: 'NONE' }).expect(204)
      now += 30_000
      const listed = (await request(emulator.app).get('/v1/sessions').set(bearer(apiKey)).expect(200)).body
      expect(listed.map((s: { session_uuid: string }) => s.session_uuid)).toEqual([busy.session_uuid])
      expectError(await request(emulator.app).get(`/worker/pipelines/${idle.pipeline_uuid}`).set(bearer(idle.access_token)), 404, 'not_found')
      now += 61_000
      expect((await request(emulator.app).get('/v1/sessions').set(bearer(apiKey)).expect(200)).body).toEqual([])
    } finally {
      await emulator.close()
    }
  })
})
