/**
 * `AuthCoreClient`: what `@eyepop/auth-core`'s token client needs from EyePop's auth surface, pinned
 * through the client itself (`createTokenClient`, never a raw HTTP call, so the pact is what the
 * client really sends): the three ways to exchange an API key (`v1`, `legacy`, RFC 8693 `oauth`),
 * minting a temporary key for a browser (`createClientSession`), and the refusals the client turns
 * into `ERR_TOKEN_REQUEST_FAILED` (unknown, deleted and expired keys, malformed requests).
 */
import { createTokenClient } from '@eyepop/auth-core'
import { MatchersV3 } from '@pact-foundation/pact'
import { describe, expect, it } from 'vitest'
import {
  EXAMPLE_ACCESS_TOKEN,
  EXAMPLE_API_KEY,
  EXAMPLE_POP_ID,
  EXAMPLE_TEMPORARY_KEY,
  apiKeyFromState,
  bearerApiKey,
  bearerToken,
  formBody,
  oauthError,
} from '../src/matchers.js'
import { createPact } from '../src/participants.js'

const { integer, regex, string, fromProviderState, eachLike } = MatchersV3

const pact = createPact('AuthCoreClient')
const KEY_STATE = 'an api key named {name} exists'
const SERVER_KEY = { name: 'AuthCoreClient server' }

/** The token response every exchange route answers with; only what the client reads. */
const tokenResponse = {
  access_token: string(EXAMPLE_ACCESS_TOKEN),
  token_type: regex('^[Bb]earer$', 'Bearer'),
  expires_in: integer(3600),
}

/** The RFC 8693 form auth-core sends, the subject token from the provider state. */
function tokenExchangeForm(scope: string) {
  return {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    client_id: 'eyepop-sdk',
    subject_token: apiKeyFromState(),
    subject_token_type: 'urn:eyepop:params:oauth:token-type:api-key',
    scope,
  }
}

function v1Exchange(description: string) {
  return pact
    .addInteraction()
    .given(KEY_STATE, SERVER_KEY)
    .uponReceiving(description)
    .withRequest('POST', '/v1/auth/authenticate', (builder) => {
      builder.headers({ Authorization: bearerApiKey(), Accept: 'application/json' })
    })
}

describe('AuthCoreClient', () => {
  describe('exchanging an API key', () => {
    it('with protocol v1: POST /v1/auth/authenticate with the key as Bearer', async () => {
      await v1Exchange('a v1 token request with a valid api key')
        .willRespondWith(200, (builder) => builder.jsonBody(tokenResponse))
        .executeTest(async (mockServer) => {
          const client = createTokenClient({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY })
          expect(await client.getAccessToken()).toBe(EXAMPLE_ACCESS_TOKEN)
        })
    })

    it('with protocol legacy: POST /authentication/token with a JSON secret_key', async () => {
      await pact
        .addInteraction()
        .given(KEY_STATE, SERVER_KEY)
        .uponReceiving('a legacy token request with a valid api key')
        .withRequest('POST', '/authentication/token', (builder) => {
          builder
            .headers({ 'Content-Type': 'application/json', Accept: 'application/json' })
            .jsonBody({ secret_key: apiKeyFromState() })
        })
        .willRespondWith(200, (builder) => builder.jsonBody(tokenResponse))
        .executeTest(async (mockServer) => {
          const client = createTokenClient({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, protocol: 'legacy' })
          expect(await client.getAccessToken()).toBe(EXAMPLE_ACCESS_TOKEN)
        })
    })

    it('with protocol oauth: an RFC 8693 token exchange at /token for the public client eyepop-sdk', async () => {
      await pact
        .addInteraction()
        .given(KEY_STATE, SERVER_KEY)
        .uponReceiving('an RFC 8693 token exchange of a valid api key')
        .withRequest('POST', '/token', (builder) => {
          builder.headers({ 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' })
          formBody(builder, tokenExchangeForm('access:inference-api'))
        })
        .willRespondWith(200, (builder) => builder.jsonBody(tokenResponse))
        .executeTest(async (mockServer) => {
          const client = createTokenClient({
            eyepopUrl: mockServer.url,
            apiKey: EXAMPLE_API_KEY,
            protocol: 'oauth',
            scope: 'access:inference-api',
          })
          expect(await client.getAccessToken()).toBe(EXAMPLE_ACCESS_TOKEN)
        })
    })
  })

  describe('minting a temporary key for a browser', () => {
    it('exchanges the key, then POSTs /v1/auth/client-sessions with the access token', async () => {
      v1Exchange('a v1 token request before minting a client session')
        .willRespondWith(200, (builder) => builder.jsonBody(tokenResponse))
      await pact
        .addInteraction()
        .given(KEY_STATE, SERVER_KEY)
        .given('a pop named {name} exists', { name: 'browser pop' })
        .uponReceiving('a request to mint a client session for a pop')
        .withRequest('POST', '/v1/auth/client-sessions', (builder) => {
          builder
            .headers({ Authorization: bearerToken('accessToken'), 'Content-Type': 'application/json' })
            .jsonBody({
              pop_id: fromProviderState('${popId}', EXAMPLE_POP_ID),
              ttl_seconds: integer(600),
              allowed_origins: eachLike('http://localhost:3000'),
            })
        })
        .willRespondWith(200, (builder) =>
          builder.jsonBody({
            eyepopUrl: regex('^https?://.+$', 'http://127.0.0.1:8700'),
            accessToken: string(EXAMPLE_TEMPORARY_KEY),
            validUntil: integer(1767225600000),
            popId: fromProviderState('${popId}', EXAMPLE_POP_ID),
          }),
        )
        .executeTest(async (mockServer) => {
          const client = createTokenClient({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY })
          const session = await client.createClientSession({ popId: EXAMPLE_POP_ID, ttlSeconds: 600, origin: 'http://localhost:3000' })
          expect(session).toEqual({
            eyepopUrl: 'http://127.0.0.1:8700',
            accessToken: EXAMPLE_TEMPORARY_KEY,
            validUntil: 1767225600000,
            popId: EXAMPLE_POP_ID,
          })
        })
    })

    it('turns a lifetime the server refuses (400 invalid_request) into ERR_TOKEN_REQUEST_FAILED', async () => {
      v1Exchange('a v1 token request before asking for a too long client session')
        .willRespondWith(200, (builder) => builder.jsonBody(tokenResponse))
      await pact
        .addInteraction()
        .given(KEY_STATE, SERVER_KEY)
        .given('a pop named {name} exists', { name: 'browser pop' })
        .uponReceiving('a request to mint a client session that lives too long')
        .withRequest('POST', '/v1/auth/client-sessions', (builder) => {
          builder
            .headers({ Authorization: bearerToken('accessToken'), 'Content-Type': 'application/json' })
            .jsonBody({ pop_id: fromProviderState('${popId}', EXAMPLE_POP_ID), ttl_seconds: 86_400 })
        })
        .willRespondWith(400, (builder) => builder.jsonBody(oauthError('invalid_request')))
        .executeTest(async (mockServer) => {
          const client = createTokenClient({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY })
          await expect(client.createClientSession({ popId: EXAMPLE_POP_ID, ttlSeconds: 86_400 })).rejects.toMatchObject({
            code: 'ERR_TOKEN_REQUEST_FAILED',
            status: 400,
            error: 'invalid_request',
          })
        })
    })
  })

  describe('refusals', () => {
    const refusals = [
      ['an unknown api key', 'no api key is registered', {}, 'a v1 token request with an unknown api key'],
      ['a deleted api key', 'an api key named {name} was deleted', { name: 'deleted key' }, 'a v1 token request with a deleted api key'],
      ['an expired api key', 'an api key named {name} has expired', { name: 'expired key' }, 'a v1 token request with an expired api key'],
    ] as const

    for (const [what, state, params, description] of refusals) {
      it(`turns 401 invalid_client for ${what} into ERR_TOKEN_REQUEST_FAILED`, async () => {
        await pact
          .addInteraction()
          .given(state, params)
          .uponReceiving(description)
          .withRequest('POST', '/v1/auth/authenticate', (builder) => {
            // The unknown key is the example key itself: no state replaces it.
            builder.headers({ Authorization: state === 'no api key is registered' ? regex('^Bearer eyp_[A-Za-z0-9]{50}$', `Bearer ${EXAMPLE_API_KEY}`) : bearerApiKey() })
          })
          .willRespondWith(401, (builder) => builder.jsonBody(oauthError('invalid_client')))
          .executeTest(async (mockServer) => {
            const client = createTokenClient({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY })
            await expect(client.getAccessToken()).rejects.toMatchObject({
              code: 'ERR_TOKEN_REQUEST_FAILED',
              status: 401,
              error: 'invalid_client',
            })
          })
      })
    }

    it('turns 400 invalid_scope for a scope broader than the key into ERR_TOKEN_REQUEST_FAILED', async () => {
      await pact
        .addInteraction()
        .given(KEY_STATE, SERVER_KEY)
        .uponReceiving('an RFC 8693 token exchange asking for a scope the key does not have')
        .withRequest('POST', '/token', (builder) => {
          builder.headers({ 'Content-Type': 'application/x-www-form-urlencoded' })
          formBody(builder, tokenExchangeForm('manage:everything'))
        })
        .willRespondWith(400, (builder) => builder.jsonBody(oauthError('invalid_scope')))
        .executeTest(async (mockServer) => {
          const client = createTokenClient({ eyepopUrl: mockServer.url, apiKey: EXAMPLE_API_KEY, protocol: 'oauth', scope: 'manage:everything' })
          await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'ERR_TOKEN_REQUEST_FAILED', status: 400, error: 'invalid_scope' })
        })
    })
  })
})
