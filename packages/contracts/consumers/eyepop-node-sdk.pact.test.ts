/**
 * `EyePopNodeSdk`: what the real `@eyepop.ai/eyepop` 1.18.1 (from npm, unchanged) sends when it
 * connects, driven against Pact's mock server (eyepop-auth-protocol.md section A): a worker with a
 * Pop, a transient worker, and a session handed over from one endpoint to another. The SDK
 * resolves the relative `base_url` against `eyepopUrl`, so the mock server's URL is all it needs.
 */
import { EyePop } from '@eyepop.ai/eyepop'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { MatchersV3 } from '@pact-foundation/pact'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { EXAMPLE_ACCESS_TOKEN, EXAMPLE_API_KEY, EXAMPLE_POP_ID, apiKeyFromState, bearerToken } from '../src/matchers.js'
import { createPact } from '../src/participants.js'

const { integer, regex, string, fromProviderState, like } = MatchersV3

// The SDK reads these when it is imported; none may leak in from the environment.
clearEyePopEnv()
// The SDK is typed against its own pino major; a silent logger of ours serves it.
type SdkLogger = NonNullable<Parameters<typeof EyePop.workerEndpoint>[0]>['logger']
const logger = pino({ level: 'silent' }) as unknown as SdkLogger

const pact = createPact('EyePopNodeSdk')
const KEY_STATE = 'an api key named {name} exists'
const SERVER_KEY = { name: 'EyePopNodeSdk server' }
const POP_STATE = 'a pop named {name} exists'
const POP = { name: 'EyePopNodeSdk pop' }
/** An example pipeline id: 32 lowercase hex characters, like the mock worker's. */
const EXAMPLE_PIPELINE_ID = 'fedcba9876543210fedcba9876543210'
const pipelinePath = (suffix = '') =>
  fromProviderState(`/worker/pipelines/\${pipelineId}${suffix}`, `/worker/pipelines/${EXAMPLE_PIPELINE_ID}${suffix}`)

/** `POST /authentication/token` with `{"secret_key"}`, the 1.x exchange. */
function tokenRequest(description: string, states: Array<[string, Record<string, string>]>) {
  let interaction = pact.addInteraction()
  for (const [state, params] of states) interaction = interaction.given(state, params)
  interaction
    .uponReceiving(description)
    .withRequest('POST', '/authentication/token', (builder) => {
      builder.headers({ 'Content-Type': 'application/json' }).jsonBody({ secret_key: apiKeyFromState() })
    })
    .willRespondWith(200, (builder) =>
      builder.jsonBody({
        access_token: string(EXAMPLE_ACCESS_TOKEN),
        // Kept well above the SDK's 60 s margin, or it would ask for a token on every call.
        expires_in: integer(3600),
        token_type: regex('^Bearer$', 'Bearer'),
      }),
    )
}

/** The Pop's config, its pipeline and the stop of its jobs: what `connect()` does for a Pop. */
function popConnect(when: string) {
  const states = [[KEY_STATE, SERVER_KEY], [POP_STATE, POP], ['the pop has a running pipeline', {}]] as const
  const given = (interaction: ReturnType<typeof pact.addInteraction>) =>
    states.reduce((i, [state, params]) => i.given(state, params), interaction)
  given(pact.addInteraction())
    .uponReceiving(`a request for the config of a pop ${when}`)
    .withRequest('GET', fromProviderState('/pops/${popId}/config', `/pops/${EXAMPLE_POP_ID}/config`), (builder) => {
      builder.query({ auto_start: 'false' }).headers({ Authorization: bearerToken('accessToken') })
    })
    .willRespondWith(200, (builder) =>
      builder.jsonBody({
        base_url: string('/worker'),
        pipeline_id: fromProviderState('${pipelineId}', EXAMPLE_PIPELINE_ID),
        name: string('EyePopNodeSdk pop'),
      }),
    )
  given(pact.addInteraction())
    .uponReceiving(`a request for the pipeline of a pop ${when}`)
    .withRequest('GET', pipelinePath(), (builder) => {
      builder.headers({ Authorization: bearerToken('accessToken') })
    })
    .willRespondWith(200, (builder) => builder.jsonBody({ id: fromProviderState('${pipelineId}', EXAMPLE_PIPELINE_ID) }))
  return given(pact.addInteraction())
    .uponReceiving(`a request to stop the jobs of the pipeline of a pop ${when}`)
    .withRequest('PATCH', pipelinePath('/source'), (builder) => {
      builder
        .query({ mode: 'preempt', processing: 'sync' })
        .headers({ Authorization: bearerToken('accessToken'), 'Content-Type': 'application/json' })
        .jsonBody({ sourceType: 'NONE' })
    })
    .willRespondWith(204)
}

describe('EyePopNodeSdk (@eyepop.ai/eyepop 1.18.1)', () => {
  it('connects a worker endpoint to a Pop with its secret key', async () => {
    tokenRequest('a request for an access token for a worker with a pop', [[KEY_STATE, SERVER_KEY]])
    await popConnect('with an access token').executeTest(async (mockServer) => {
      const endpoint = EyePop.workerEndpoint({ eyepopUrl: mockServer.url, auth: { secretKey: EXAMPLE_API_KEY }, popId: EXAMPLE_POP_ID, logger })
      await endpoint.connect()
      const session = await endpoint.session()
      expect(session).toMatchObject({ eyepopUrl: mockServer.url, accessToken: EXAMPLE_ACCESS_TOKEN, popId: EXAMPLE_POP_ID })
      await endpoint.disconnect()
    })
  })

  it('connects and disconnects a transient worker', async () => {
    const states = [[KEY_STATE, SERVER_KEY], ['a transient pipeline is running', {}]] as const
    const given = (interaction: ReturnType<typeof pact.addInteraction>) =>
      states.reduce((i, [state, params]) => i.given(state, params), interaction)
    tokenRequest('a request for an access token for a transient worker', [[KEY_STATE, SERVER_KEY]])
    given(pact.addInteraction())
      .uponReceiving('a request for the transient worker config')
      .withRequest('GET', '/workers/config', (builder) => {
        builder.headers({ Authorization: bearerToken('accessToken') })
      })
      .willRespondWith(200, (builder) => builder.jsonBody({ base_url: string('/worker') }))
    given(pact.addInteraction())
      .uponReceiving('a request to start a transient pipeline')
      .withRequest('POST', '/worker/pipelines', (builder) => {
        builder
          .headers({ Authorization: bearerToken('accessToken'), 'Content-Type': 'application/json' })
          .jsonBody({
            pop: like({ components: [] }),
            source: { sourceType: 'NONE' },
            idleTimeoutSeconds: integer(30),
            logging: like(['out_meta']),
            videoOutput: string('no_output'),
          })
      })
      .willRespondWith(200, (builder) => builder.jsonBody({ id: string(EXAMPLE_PIPELINE_ID) }))
    given(pact.addInteraction())
      .uponReceiving('a request for a transient pipeline')
      .withRequest('GET', pipelinePath(), (builder) => {
        builder.headers({ Authorization: bearerToken('accessToken') })
      })
      .willRespondWith(200, (builder) => builder.jsonBody({ id: fromProviderState('${pipelineId}', EXAMPLE_PIPELINE_ID) }))
    given(pact.addInteraction())
      .uponReceiving('a request to stop the jobs of a transient pipeline')
      .withRequest('PATCH', pipelinePath('/source'), (builder) => {
        builder
          .query({ mode: 'preempt', processing: 'sync' })
          .headers({ Authorization: bearerToken('accessToken'), 'Content-Type': 'application/json' })
          .jsonBody({ sourceType: 'NONE' })
      })
      .willRespondWith(204)
    await given(pact.addInteraction())
      .uponReceiving('a request to delete a transient pipeline')
      .withRequest('DELETE', pipelinePath(), (builder) => {
        builder.headers({ Authorization: bearerToken('accessToken') })
      })
      .willRespondWith(204)
      .executeTest(async (mockServer) => {
        const endpoint = EyePop.workerEndpoint({ eyepopUrl: mockServer.url, auth: { secretKey: EXAMPLE_API_KEY }, logger })
        await endpoint.connect()
        await endpoint.disconnect()
      })
  })

  it('connects a second endpoint with the session the first handed over, without the secret key', async () => {
    // What a server's `endpoint.session()` gives (no call is made for it), after JSON, as it
    // reaches another process: the access token and when it stops being used.
    await popConnect('with a handed-over session').executeTest(async (mockServer) => {
      const session = { eyepopUrl: mockServer.url, accessToken: EXAMPLE_ACCESS_TOKEN, validUntil: Date.now() + 3_540_000, popId: EXAMPLE_POP_ID }
      const endpoint = EyePop.workerEndpoint({ auth: { session: JSON.parse(JSON.stringify(session)) }, logger })
      await endpoint.connect()
      await endpoint.disconnect()
    })
  })
})
