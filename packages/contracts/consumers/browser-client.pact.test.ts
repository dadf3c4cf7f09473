/**
 * `BrowserClient`: a browser (or mobile) client holding only the session its server handed over,
 * `{eyepopUrl, accessToken, validUntil, popId}`, whose `accessToken` is a temporary key bound to
 * one Pop. Driven through the real `@eyepop.ai/eyepop` 1.18.1 with `auth: { session }`, as the
 * page runs it: it connects to its Pop with no token call; on another Pop it is refused (403); a
 * key the server already considers expired is refused (401), and the SDK then gives up, since a
 * session cannot be refreshed.
 */
import { EyePop } from '@eyepop.ai/eyepop'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { MatchersV3 } from '@pact-foundation/pact'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { EXAMPLE_POP_ID, EXAMPLE_TEMPORARY_KEY, bearerToken, oauthError } from '../src/matchers.js'
import { createPact } from '../src/participants.js'

const { string, fromProviderState } = MatchersV3

// The SDK reads EYEPOP_* variables when it builds an endpoint: the test's settings must be the only ones.
clearEyePopEnv()

type SdkLogger = NonNullable<Parameters<typeof EyePop.workerEndpoint>[0]>['logger']
const logger = pino({ level: 'silent' }) as unknown as SdkLogger

const pact = createPact('BrowserClient')
/** Another Pop of the same account, which the temporary key does not reach. */
const EXAMPLE_OTHER_POP_ID = 'abcdefabcdefabcdefabcdefabcdefab'
const EXAMPLE_PIPELINE_ID = 'fedcba9876543210fedcba9876543210'
const temporaryKey = () => bearerToken('temporaryKey', EXAMPLE_TEMPORARY_KEY)
const pipelinePath = (suffix = '') =>
  fromProviderState(`/worker/pipelines/\${pipelineId}${suffix}`, `/worker/pipelines/${EXAMPLE_PIPELINE_ID}${suffix}`)

type Interaction = ReturnType<typeof pact.addInteraction>

/** The states every interaction here builds on: a server's key, its Pop, and what it minted. */
function given(interaction: Interaction, ...more: Array<[string, Record<string, string>]>): Interaction {
  const states: Array<[string, Record<string, string>]> = [
    ['an api key named {name} exists', { name: 'BrowserClient server' }],
    ['a pop named {name} exists', { name: 'BrowserClient pop' }],
    ...more,
  ]
  return states.reduce((i, [state, params]) => i.given(state, params), interaction)
}

/** The JSON session a server hands over, as the page parses it. */
function handedOver(eyepopUrl: string, popId: string) {
  const session = { eyepopUrl, accessToken: EXAMPLE_TEMPORARY_KEY, validUntil: Date.now() + 600_000, popId }
  return JSON.parse(JSON.stringify(session)) as typeof session
}

describe('BrowserClient (@eyepop.ai/eyepop 1.18.1 with a handed-over session)', () => {
  it('connects to its Pop with the temporary key and no token call', async () => {
    const minted = [['a temporary key for the pop was minted', {}], ['the pop has a running pipeline', {}]] as Array<[string, Record<string, string>]>
    given(pact.addInteraction(), ...minted)
      .uponReceiving('a request for the config of its pop with a temporary key')
      .withRequest('GET', fromProviderState('/pops/${popId}/config', `/pops/${EXAMPLE_POP_ID}/config`), (builder) => {
        builder.query({ auto_start: 'false' }).headers({ Authorization: temporaryKey() })
      })
      .willRespondWith(200, (builder) =>
        builder.jsonBody({
          base_url: string('/worker'),
          pipeline_id: fromProviderState('${pipelineId}', EXAMPLE_PIPELINE_ID),
          name: string('BrowserClient pop'),
        }),
      )
    given(pact.addInteraction(), ...minted)
      .uponReceiving('a request for the pipeline of its pop with a temporary key')
      .withRequest('GET', pipelinePath(), (builder) => {
        builder.headers({ Authorization: temporaryKey() })
      })
      .willRespondWith(200, (builder) => builder.jsonBody({ id: fromProviderState('${pipelineId}', EXAMPLE_PIPELINE_ID) }))
    await given(pact.addInteraction(), ...minted)
      .uponReceiving('a request to stop the jobs of the pipeline of its pop with a temporary key')
      .withRequest('PATCH', pipelinePath('/source'), (builder) => {
        builder
          .query({ mode: 'preempt', processing: 'sync' })
          .headers({ Authorization: temporaryKey(), 'Content-Type': 'application/json' })
          .jsonBody({ sourceType: 'NONE' })
      })
      .willRespondWith(204)
      .executeTest(async (mockServer) => {
        const endpoint = EyePop.workerEndpoint({ auth: { session: handedOver(mockServer.url, EXAMPLE_POP_ID) }, logger })
        await endpoint.connect()
        await endpoint.disconnect()
      })
  })

  it('is refused (403) on another Pop of the same account', async () => {
    await given(pact.addInteraction(), ['another pop named {name} exists', { name: 'not for the browser' }], ['a temporary key for the pop was minted', {}])
      .uponReceiving('a request for the config of another pop with a temporary key')
      .withRequest('GET', fromProviderState('/pops/${otherPopId}/config', `/pops/${EXAMPLE_OTHER_POP_ID}/config`), (builder) => {
        builder.query({ auto_start: 'false' }).headers({ Authorization: temporaryKey() })
      })
      .willRespondWith(403, (builder) => builder.jsonBody(oauthError('insufficient_scope')))
      .executeTest(async (mockServer) => {
        // A page that was handed its session for one Pop, asking for another.
        const endpoint = EyePop.workerEndpoint({ auth: { session: handedOver(mockServer.url, EXAMPLE_OTHER_POP_ID) }, logger })
        await expect(endpoint.connect()).rejects.toMatch(/^Unexpected status 403/)
      })
  })

  it('is refused (401) once the server considers the key expired, and cannot refresh', async () => {
    await given(pact.addInteraction(), ['the temporary key for the pop has expired', {}])
      .uponReceiving('a request for the config of its pop with an expired temporary key')
      .withRequest('GET', fromProviderState('/pops/${popId}/config', `/pops/${EXAMPLE_POP_ID}/config`), (builder) => {
        builder.query({ auto_start: 'false' }).headers({ Authorization: temporaryKey() })
      })
      .willRespondWith(401, (builder) => builder.jsonBody(oauthError('invalid_token')))
      .executeTest(async (mockServer) => {
        // The browser's clock still believes the session valid; the server does not.
        const endpoint = EyePop.workerEndpoint({ auth: { session: handedOver(mockServer.url, EXAMPLE_POP_ID) }, logger })
        await expect(endpoint.connect()).rejects.toBe('temporary access token expired')
      })
  })
})
