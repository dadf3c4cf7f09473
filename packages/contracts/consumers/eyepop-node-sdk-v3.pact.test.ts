/**
 * `EyePopNodeSdkV3`: the compute API as the EyePop Node SDK 3.x uses it (eyepop-auth-protocol.md
 * §2.1-2.3, §2.5 and §3), through `src/v3-client.ts`, which follows that SDK's behaviour since the
 * 3.x SDK cannot be installed here: the API-key exchange and the data API's config, compute
 * sessions (none yet, create with `wait=true`, reuse, a persistent one by uuid, delete), the
 * worker's health check with the session's token, and a browser's hand-off with that token.
 */
import { MatchersV3 } from '@pact-foundation/pact'
import { describe, expect, it } from 'vitest'
import { EXAMPLE_ACCESS_TOKEN, EXAMPLE_API_KEY, bearerApiKey, bearerToken, isoTimestamp, oauthError } from '../src/matchers.js'
import { createPact } from '../src/participants.js'
import { createV3Client } from '../src/v3-client.js'

const { boolean, eachLike, fromProviderState, integer, matchStatus, regex, string, url2, uuid } = MatchersV3

const pact = createPact('EyePopNodeSdkV3')
const KEY: [string, Record<string, string>] = ['an api key named {name} exists', { name: 'EyePopNodeSdkV3 server' }]
const SESSION: [string, Record<string, string>] = ['a compute session exists', {}]
const EXAMPLE_SESSION_UUID = '3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b'
const EXAMPLE_SESSION_TOKEN = 'example.session.token'
const UNKNOWN_SESSION_UUID = '00000000-0000-4000-8000-000000000000'
const SESSION_STATUSES = 'unknown|pending|running|stopped|failed|error|pipeline_creating|pipeline_ok|pipeline_checking|pipeline_error|upgrading'

type Interaction = ReturnType<typeof pact.addInteraction>

function given(interaction: Interaction, ...states: Array<[string, Record<string, string>]>): Interaction {
  return states.reduce((i, [state, params]) => i.given(state, params), interaction)
}

/** A compute session, only the fields the SDK reads; `sessionUuid` pins the uuid to the state's. */
function computeSession(sessionUuid?: string) {
  return {
    session_uuid: sessionUuid === undefined ? uuid(EXAMPLE_SESSION_UUID) : fromProviderState(sessionUuid, EXAMPLE_SESSION_UUID),
    // The worker base, an absolute URL; the consumer test gets the mock server's.
    session_endpoint: url2(null, ['worker']),
    session_status: regex(`^(${SESSION_STATUSES})$`, 'running'),
    persistent: boolean(false),
    pipeline_uuid: uuid('9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'),
    access_token: string(EXAMPLE_SESSION_TOKEN),
    access_token_expires_at: isoTimestamp(),
    access_token_expires_in: integer(3600),
  }
}

/** The worker's health check with the session's token, answered ready with `{message}`. */
function addHealthCheck(): ReturnType<Interaction['withRequest']>['willRespondWith'] extends (...args: never[]) => infer R ? R : never {
  return given(pact.addInteraction(), KEY, SESSION)
    .uponReceiving("a health check of a compute session's worker with its token")
    .withRequest('GET', '/worker/health', (builder) => {
      builder.headers({ Authorization: bearerToken('sessionAccessToken', EXAMPLE_SESSION_TOKEN), Accept: 'application/json' })
    })
    .willRespondWith(200, (builder) => builder.jsonBody({ message: string("I'm fine") }))
}

describe('EyePopNodeSdkV3 (the 3.x compute API, through src/v3-client.ts)', () => {
  it('exchanges the API key at /v1/auth/authenticate and reads the data API config with the token', async () => {
    given(pact.addInteraction(), KEY)
      .uponReceiving('a request to exchange the api key for an access token, with no body')
      .withRequest('POST', '/v1/auth/authenticate', (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) =>
        builder.jsonBody({ access_token: string(EXAMPLE_ACCESS_TOKEN), expires_in: integer(3600), token_type: regex('^Bearer$', 'Bearer') }),
      )
    await given(pact.addInteraction(), KEY)
      .uponReceiving('a request for the data api config with an access token')
      .withRequest('GET', '/v1/configs', (builder) => {
        builder.headers({ Authorization: bearerToken('accessToken') })
      })
      .willRespondWith(200, (builder) => builder.jsonBody({ dataset_api_url: string('/data'), vlm_api_url: string('/vlm') }))
      .executeTest(async (mockServer) => {
        const client = createV3Client({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY })
        expect(await client.fetchDataConfig()).toEqual({ datasetApiUrl: `${mockServer.url}/data`, vlmApiUrl: `${mockServer.url}/vlm` })
      })
  })

  it('creates a session with wait=true when there is none, then waits for its worker', async () => {
    given(pact.addInteraction(), KEY)
      .uponReceiving('a request for compute sessions when there are none')
      .withRequest('GET', '/v1/sessions', (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(404)
    given(pact.addInteraction(), KEY)
      .uponReceiving('a request to create a compute session and wait for it, with no body')
      .withRequest('POST', '/v1/sessions', (builder) => {
        builder.query({ wait: 'true' }).headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(eachLike(computeSession())))
    await addHealthCheck().executeTest(async (mockServer) => {
      const client = createV3Client({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY })
      const session = await client.connect()
      expect(session.session_endpoint).toBe(`${mockServer.url}/worker`)
      expect(client.session()).toEqual({
        eyepopUrl: mockServer.url,
        accessToken: EXAMPLE_SESSION_TOKEN,
        validUntil: Date.parse('2026-01-01T00:00:00.000Z'),
        popId: 'transient',
        baseUrl: `${mockServer.url}/worker`,
        pipelineId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
      })
    })
  })

  it('reuses a running session it finds', async () => {
    given(pact.addInteraction(), KEY, SESSION)
      .uponReceiving('a request for compute sessions when one is running')
      .withRequest('GET', '/v1/sessions', (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(eachLike(computeSession())))
    await addHealthCheck().executeTest(async (mockServer) => {
      const session = await createV3Client({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY }).connect()
      expect(session.session_uuid).toBe(EXAMPLE_SESSION_UUID)
    })
  })

  it('connects to a persistent session by its uuid', async () => {
    given(pact.addInteraction(), KEY, SESSION)
      .uponReceiving('a request for a compute session by its uuid')
      .withRequest('GET', fromProviderState('/v1/sessions/${sessionUuid}', `/v1/sessions/${EXAMPLE_SESSION_UUID}`), (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(computeSession('${sessionUuid}')))
    await addHealthCheck().executeTest(async (mockServer) => {
      const client = createV3Client({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, sessionUuid: EXAMPLE_SESSION_UUID })
      expect((await client.connect()).session_uuid).toBe(EXAMPLE_SESSION_UUID)
    })
  })

  it('fails clearly for an unknown session uuid (404)', async () => {
    await given(pact.addInteraction(), KEY)
      .uponReceiving('a request for a compute session that does not exist')
      .withRequest('GET', `/v1/sessions/${UNKNOWN_SESSION_UUID}`, (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(404)
      .executeTest(async (mockServer) => {
        const client = createV3Client({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY })
        await expect(client.getSession(UNKNOWN_SESSION_UUID)).rejects.toThrow(`compute sessions ${UNKNOWN_SESSION_UUID} not found`)
      })
  })

  it('deletes a session (200, 202 or 204)', async () => {
    await given(pact.addInteraction(), KEY, SESSION)
      .uponReceiving('a request to delete a compute session')
      .withRequest('DELETE', fromProviderState('/v1/sessions/${sessionUuid}', `/v1/sessions/${EXAMPLE_SESSION_UUID}`), (builder) => {
        builder.headers({ Authorization: bearerApiKey(), Accept: 'application/json' })
      })
      .willRespondWith(matchStatus(204, [200, 202, 204]))
      .executeTest(async (mockServer) => {
        expect(await createV3Client({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY }).deleteSession(EXAMPLE_SESSION_UUID)).toBe(true)
      })
  })

  it("resolves the session again with the session's own token after a hand-off (a browser)", async () => {
    given(pact.addInteraction(), KEY, SESSION)
      .uponReceiving("a request for compute sessions with a handed-over session's token")
      .withRequest('GET', '/v1/sessions', (builder) => {
        builder.headers({ Authorization: bearerToken('sessionAccessToken', EXAMPLE_SESSION_TOKEN) })
      })
      .willRespondWith(200, (builder) => builder.jsonBody(eachLike(computeSession())))
    await addHealthCheck().executeTest(async (mockServer) => {
      const handedOver = JSON.parse(JSON.stringify({ eyepopUrl: mockServer.url, accessToken: EXAMPLE_SESSION_TOKEN, validUntil: Date.now() + 600_000 }))
      const session = await createV3Client({ session: handedOver }).connect()
      expect(session.access_token).toBe(EXAMPLE_SESSION_TOKEN)
    })
  })

  it('fails with the status for a key the compute API refuses (401)', async () => {
    await given(pact.addInteraction(), ['an api key named {name} was deleted', { name: 'EyePopNodeSdkV3 deleted key' }])
      .uponReceiving('a request for compute sessions with a deleted api key')
      .withRequest('GET', '/v1/sessions', (builder) => {
        builder.headers({ Authorization: bearerApiKey() })
      })
      .willRespondWith(401, (builder) => builder.jsonBody(oauthError('invalid_client')))
      .executeTest(async (mockServer) => {
        await expect(createV3Client({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY }).listSessions()).rejects.toThrow(
          /^Unexpected status 401 fetching compute sessions/,
        )
      })
  })
})
