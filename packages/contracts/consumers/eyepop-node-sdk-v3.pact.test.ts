/**
 * `EyePopNodeSdkV3`: what the real EyePop Node SDK 3.17.2 (`@eyepop.ai/eyepop`, from
 * ../shared/real-sdks through `@eyepop/real-sdks`, unchanged) sends, driven against Pact's mock
 * server: a compute session with a pop and without, reused, with an access token and handed over
 * to a browser; its worker's health, a job by URL and by upload, and the pipeline's deletion on
 * `disconnect()`; the deprecated `popId` route; the data API's config; a refused key.
 *
 * The pact is recorded, not written by hand: every request in it is one the SDK made, and the mock
 * server fails the test on any request the SDK sends that is not in it, or on one it leaves out.
 * It is committed (`recorded/`, see `RECORDED_CONSUMERS`), so the provider verification checks the
 * emulator against it on every machine. `npm test` records it again into a temporary folder and
 * fails when the SDK's interactions differ from the committed ones; `npm run record -w
 * @eyepop/contracts` (with `PACT_RECORD=1`) writes them to `recorded/`.
 *
 * The job answers carry no body in the pact: the mock Pop's predictions hold a fresh `source_id`
 * per call, which a pact body cannot match; the SDK-compatibility suite checks them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadNodeSdkV3, type NodeSdkV3, type Prediction, type WorkerEndpointV3 } from '@eyepop/real-sdks'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { MatchersV3 } from '@pact-foundation/pact'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLE_ACCESS_TOKEN, EXAMPLE_API_KEY, EXAMPLE_POP_ID, bearerApiKey, bearerToken, isoTimestamp, oauthError } from '../src/matchers.js'
import { RECORDED_DIR, createPact, pactFileOf } from '../src/participants.js'

const { boolean, eachLike, fromProviderState, integer, like, regex, string, url2, uuid } = MatchersV3

// The SDK reads these when it builds an endpoint; none may leak in from the environment.
clearEyePopEnv()

const recording = process.env.PACT_RECORD === '1'
const dir = recording ? RECORDED_DIR : mkdtempSync(join(tmpdir(), 'eyepop-pact-v3-'))
if (recording) rmSync(pactFileOf('EyePopNodeSdkV3'), { force: true })
const pact = createPact('EyePopNodeSdkV3', dir)
const logger = pino({ level: 'silent' })
let sdk: NodeSdkV3

const KEY: State = ['an api key named {name} exists', { name: 'EyePopNodeSdkV3 server' }]
const SESSION: State = ['a compute session exists', {}]
const POP_STATES: State[] = [KEY, ['a pop named {name} exists', { name: 'EyePopNodeSdkV3 pop' }], ['the pop has a running pipeline', {}]]
const EXAMPLE_SESSION_UUID = '3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b'
const EXAMPLE_PIPELINE_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'
const EXAMPLE_SESSION_TOKEN = 'example.session.token'
const IMAGE_URL = 'https://images.invalid/shelf.jpg'
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
const POP = { components: [] }

type State = [string, Record<string, string>]
type Interaction = ReturnType<typeof pact.addInteraction>

function given(...states: State[]): Interaction {
  return states.reduce((i, [state, params]) => i.given(state, params), pact.addInteraction())
}

/** A compute session as the emulator describes it; in the verification, the state's ids. */
function computeSession() {
  return {
    session_uuid: uuid(EXAMPLE_SESSION_UUID),
    // The worker base, an absolute URL: the mock server's in this test.
    session_endpoint: url2(null, ['worker']),
    pipeline_uuid: uuid(EXAMPLE_PIPELINE_ID),
    pipelines: eachLike({ id: uuid(EXAMPLE_PIPELINE_ID), pipeline_id: uuid(EXAMPLE_PIPELINE_ID) }),
    session_status: regex('^running$', 'running'),
    session_message: string('running'),
    session_name: like(''),
    pipeline_version: like(''),
    user_uuid: uuid('8c1f9f0e-0d4a-4b8e-9a57-2f6c3d1b7e90'),
    created_at: isoTimestamp(),
    uptime: integer(0),
    session_active: boolean(true),
    persistent: boolean(false),
    access_token: string(EXAMPLE_SESSION_TOKEN),
    access_token_expires_at: isoTimestamp(),
    access_token_expires_in: integer(3600),
  }
}

/** The path of the state's session pipeline (`${pipelineId}`), or of the example one. */
const pipelinePath = (suffix = '') =>
  fromProviderState(`/worker/pipelines/\${pipelineId}${suffix}`, `/worker/pipelines/${EXAMPLE_PIPELINE_ID}${suffix}`)

/** What the SDK does with a compute session it resolved: the health check, a job, the pipeline's deletion. */
function workerCalls(when: string, job: 'url' | 'upload') {
  given(KEY, SESSION)
    .uponReceiving(`a health check of a compute session's worker ${when}`)
    .withRequest('GET', '/worker/health', (builder) => {
      builder.headers({ Authorization: bearerToken('sessionAccessToken', EXAMPLE_SESSION_TOKEN), Accept: 'application/json' })
    })
    .willRespondWith(200, (builder) => builder.jsonBody({ message: string("I'm fine") }))
  if (job === 'url') {
    given(KEY, SESSION)
      .uponReceiving(`a job on a compute session's pipeline by URL ${when}`)
      .withRequest('PATCH', pipelinePath('/source'), (builder) => {
        builder
          .query({ mode: 'queue', processing: 'sync' })
          .headers({ Authorization: bearerToken('sessionAccessToken', EXAMPLE_SESSION_TOKEN), Accept: 'application/jsonl', 'Content-Type': 'application/json' })
          .jsonBody({ sourceType: 'URL', url: string(IMAGE_URL), version: integer(2) })
      })
      .willRespondWith(200, (builder) => builder.headers({ 'Content-Type': 'application/jsonl; charset=utf-8' }))
  } else {
    given(KEY, SESSION)
      .uponReceiving(`a job on a compute session's pipeline with an uploaded image ${when}`)
      .withRequest('POST', pipelinePath('/source'), (builder) => {
        builder
          .query({ mode: 'queue', processing: 'sync', version: regex('^\\d+$', '2') })
          .headers({ Authorization: bearerToken('sessionAccessToken', EXAMPLE_SESSION_TOKEN), Accept: 'application/jsonl', 'Content-Type': 'image/png' })
          .body('image/png', PNG)
      })
      .willRespondWith(200, (builder) => builder.headers({ 'Content-Type': 'application/jsonl; charset=utf-8' }))
  }
  return given(KEY, SESSION)
    .uponReceiving(`a request to delete a compute session's pipeline on disconnect ${when}`)
    .withRequest('DELETE', pipelinePath(), (builder) => {
      builder.headers({ Authorization: bearerToken('sessionAccessToken', EXAMPLE_SESSION_TOKEN) })
    })
    .willRespondWith(204)
}

async function collect(results: Promise<AsyncIterable<Prediction>>): Promise<Prediction[]> {
  const all: Prediction[] = []
  for await (const result of await results) all.push(result)
  return all
}

async function processAndDisconnect(endpoint: WorkerEndpointV3, job: 'url' | 'upload'): Promise<Prediction[]> {
  await endpoint.connect()
  try {
    return await collect(endpoint.process({ source: job === 'url' ? { url: IMAGE_URL } : { file: new File([PNG], 'shelf.png', { type: 'image/png' }) } }))
  } finally {
    await endpoint.disconnect()
  }
}

/** The interactions of a pact file, as they would be verified (the libraries' metadata aside). */
function interactionsOf(file: string): unknown[] {
  const { interactions } = JSON.parse(readFileSync(file, 'utf8')) as { interactions: Array<{ description: string }> }
  return [...interactions].sort((a, b) => a.description.localeCompare(b.description))
}

beforeAll(() => {
  sdk = loadNodeSdkV3()
})

afterAll(() => {
  if (recording) return
  try {
    const recorded = interactionsOf(pactFileOf('EyePopNodeSdkV3'))
    const now = interactionsOf(pactFileOf('EyePopNodeSdkV3', dir))
    expect(now, 'the SDK 3.17.2 no longer sends what the committed pact says: re-record it with `npm run record -w @eyepop/contracts`').toEqual(recorded)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

describe('EyePopNodeSdkV3 (the real @eyepop.ai/eyepop 3.17.2)', () => {
  it('opens a compute session of its own for a pop with its API key, runs a job by URL, and deletes its pipeline on disconnect', async () => {
    given(KEY)
      .uponReceiving('a request to create a compute session for a pop with the api key')
      .withRequest('POST', '/v1/sessions', (builder) => {
        builder.query({ wait: 'true' }).headers({ Authorization: bearerApiKey(), 'Content-Type': 'application/json' }).jsonBody({ pop: like(POP) })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(eachLike(computeSession())))
    await workerCalls('(a pop, an api key)', 'url').executeTest(async (mockServer) => {
      const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, pop: POP, logger })
      expect(await processAndDisconnect(endpoint, 'url')).toEqual([])
    })
  })

  it('looks for a session to reuse without a pop, creates one with no body when there is none, and uploads an image', async () => {
    given(KEY)
      .uponReceiving('a request for compute sessions when there are none')
      .withRequest('GET', '/v1/sessions', (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) => builder.jsonBody([]))
    given(KEY)
      .uponReceiving('a request to create a compute session with no body')
      .withRequest('POST', '/v1/sessions', (builder) => {
        builder.query({ wait: 'true' }).headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(eachLike(computeSession())))
    await workerCalls('(no pop, a new session)', 'upload').executeTest(async (mockServer) => {
      const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, logger })
      expect(await processAndDisconnect(endpoint, 'upload')).toEqual([])
    })
  })

  it('reuses a running session it finds', async () => {
    given(KEY, SESSION)
      .uponReceiving('a request for compute sessions when one is running')
      .withRequest('GET', '/v1/sessions', (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(eachLike(computeSession())))
    await workerCalls('(no pop, a session reused)', 'url').executeTest(async (mockServer) => {
      const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, logger })
      expect(await processAndDisconnect(endpoint, 'url')).toEqual([])
    })
  })

  it('opens a session with an access token', async () => {
    given(KEY)
      .uponReceiving('a request to create a compute session for a pop with an access token')
      .withRequest('POST', '/v1/sessions', (builder) => {
        builder.query({ wait: 'true' }).headers({ Authorization: bearerToken('accessToken'), 'Content-Type': 'application/json' }).jsonBody({ pop: like(POP) })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(eachLike(computeSession())))
    await workerCalls('(a pop, an access token)', 'url').executeTest(async (mockServer) => {
      const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: mockServer.url, accessToken: EXAMPLE_ACCESS_TOKEN, pop: POP, logger })
      expect(await processAndDisconnect(endpoint, 'url')).toEqual([])
    })
  })

  it("resolves a handed-over session with the session's own token (a browser)", async () => {
    given(KEY, SESSION)
      .uponReceiving("a request for compute sessions with a handed-over session's token")
      .withRequest('GET', '/v1/sessions', (builder) => {
        builder.headers({ Authorization: bearerToken('sessionAccessToken', EXAMPLE_SESSION_TOKEN) })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(eachLike(computeSession())))
    await workerCalls('(a handed-over session)', 'url').executeTest(async (mockServer) => {
      const session = { eyepopUrl: mockServer.url, accessToken: EXAMPLE_SESSION_TOKEN, validUntil: Date.now() + 600_000, popId: 'transient' }
      const endpoint = sdk.EyePop.workerEndpoint({ session, logger })
      expect(await processAndDisconnect(endpoint, 'url')).toEqual([])
    })
  })

  it('connects to a Pop with the deprecated popId: the API key exchanged, the Pop config, its pipeline, its jobs stopped', async () => {
    given(KEY)
      .uponReceiving('a request to exchange the api key for an access token, with no body')
      .withRequest('POST', '/v1/auth/authenticate', (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) =>
        builder.jsonBody({ access_token: string(EXAMPLE_ACCESS_TOKEN), expires_in: integer(3600), token_type: regex('^Bearer$', 'Bearer') }),
      )
    given(...POP_STATES)
      .uponReceiving('a request for the config of a pop by its deprecated id')
      .withRequest('GET', fromProviderState('/pops/${popId}/config', `/pops/${EXAMPLE_POP_ID}/config`), (builder) => {
        builder.query({ auto_start: 'false' }).headers({ Authorization: bearerToken('accessToken') })
      })
      .willRespondWith(200, (builder) =>
        builder.jsonBody({ base_url: string('/worker'), pipeline_id: fromProviderState('${pipelineId}', EXAMPLE_PIPELINE_ID), name: string('EyePopNodeSdkV3 pop') }),
      )
    given(...POP_STATES)
      .uponReceiving("a request for a pop's pipeline")
      .withRequest('GET', pipelinePath(), (builder) => {
        builder.headers({ Authorization: bearerToken('accessToken') })
      })
      .willRespondWith(200, (builder) => builder.jsonBody({ id: fromProviderState('${pipelineId}', EXAMPLE_PIPELINE_ID), pop: like(POP) }))
    await given(...POP_STATES)
      .uponReceiving("a request to stop the jobs of a pop's pipeline")
      .withRequest('PATCH', pipelinePath('/source'), (builder) => {
        builder
          .query({ mode: 'preempt', processing: 'sync' })
          .headers({ Authorization: bearerToken('accessToken'), 'Content-Type': 'application/json' })
          .jsonBody({ sourceType: 'NONE' })
      })
      .willRespondWith(204)
      .executeTest(async (mockServer) => {
      const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, popId: EXAMPLE_POP_ID, logger })
      await endpoint.connect()
      expect(await endpoint.session()).toMatchObject({ accessToken: EXAMPLE_ACCESS_TOKEN, popId: EXAMPLE_POP_ID, pipelineId: EXAMPLE_PIPELINE_ID })
      await endpoint.disconnect()
    })
  })

  it("reads the data API's config with the exchanged token", async () => {
    given(KEY)
      .uponReceiving('a request to exchange the api key for an access token for the data api')
      .withRequest('POST', '/v1/auth/authenticate', (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) =>
        builder.jsonBody({ access_token: string(EXAMPLE_ACCESS_TOKEN), expires_in: integer(3600), token_type: regex('^Bearer$', 'Bearer') }),
      )
    await given(KEY)
      .uponReceiving('a request for the data api config with an access token')
      .withRequest('GET', '/v1/configs', (builder) => {
        builder.headers({ Authorization: bearerToken('accessToken') })
      })
      .willRespondWith(200, (builder) => builder.jsonBody({ dataset_api_url: string('/data'), vlm_api_url: string('/vlm') }))
      .executeTest(async (mockServer) => {
      // The WebSocket is left out: Pact's mock server speaks HTTP only (the compatibility suite opens it).
      const endpoint = sdk.EyePop.dataEndpoint({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, disableWs: true, logger })
      await endpoint.connect()
      expect(await endpoint.session()).toMatchObject({ datasetApiUrl: `${mockServer.url}/data`, vlmApiUrl: `${mockServer.url}/vlm` })
      await endpoint.disconnect()
    })
  })

  it('fails with the reason for a key the compute API refuses (401)', async () => {
    await given(['an api key named {name} was deleted', { name: 'EyePopNodeSdkV3 deleted key' }])
      .uponReceiving('a request to create a compute session with a deleted api key')
      .withRequest('POST', '/v1/sessions', (builder) => {
        builder.query({ wait: 'true' }).headers({ Authorization: bearerApiKey(), 'Content-Type': 'application/json' }).jsonBody({ pop: like(POP) })
      })
      .willRespondWith(401, (builder) => builder.jsonBody({ ...oauthError('invalid_client'), message: string('api key has been deleted') }))
      .executeTest(async (mockServer) => {
      const endpoint = sdk.EyePop.workerEndpoint({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, pop: POP, logger })
      await expect(endpoint.connect()).rejects.toThrow('Unexpected status 401 creating a compute session: invalid_client: api key has been deleted')
    })
  })
})
