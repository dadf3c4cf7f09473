/**
 * `Dashboard`: the key-management API (`/api/v1`) as the emulator's dashboard page uses it,
 * through its own client (`dashboard/api.js`) with the browser's cookie and CSRF token: the
 * signed-in session, listing keys, creating one (the only answer that ever holds the secret) and
 * deleting one. And the refusal every API key gets there (403): keys run Pops, they do not manage
 * keys, even when a script drives the same client with one.
 */
import { MatchersV3 } from '@pact-foundation/pact'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { browserFetch, loadDashboardApi, type DashboardApiError } from '../src/dashboard-api.js'
import { API_KEY_PATTERN, EXAMPLE_API_KEY, bearerApiKey, isoTimestamp, oauthError, regexFromProviderState } from '../src/matchers.js'
import { createPact } from '../src/participants.js'

const { eachLike, fromProviderState, regex, string, uuid } = MatchersV3

const pact = createPact('Dashboard')
const SIGNED_IN: [string, Record<string, string>] = ['a user named {name} is signed in to the dashboard', { name: 'Dashboard user' }]
const KEY: [string, Record<string, string>] = ['an api key named {name} exists', { name: 'Dashboard key', expires: '90d' }]
const EXAMPLE_COOKIE = `eyepop_session=${'ExampleDashboardSessionNotARealOne0000000000'.slice(0, 43)}`
const EXAMPLE_CSRF_TOKEN = 'example-csrf-token'
const EXAMPLE_KEY_ID = 'key_ExampleKeyId0000'
const EXPIRY_CHOICES = '^(7d|30d|90d|365d|never)$'

type Interaction = ReturnType<typeof pact.addInteraction>
let createApi: Awaited<ReturnType<typeof loadDashboardApi>>['createApi']

beforeAll(async () => {
  ;({ createApi } = await loadDashboardApi())
})
afterEach(() => {
  vi.unstubAllGlobals()
})

function given(interaction: Interaction, ...states: Array<[string, Record<string, string>]>): Interaction {
  return states.reduce((i, [state, params]) => i.given(state, params), interaction)
}

/** The session cookie the browser sends, from the signed-in state. */
const cookie = () => regexFromProviderState('^eyepop_session=[A-Za-z0-9_-]{43}$', '${sessionCookie}', EXAMPLE_COOKIE)
/** The CSRF token every change sends, from the signed-in state. */
const csrfToken = () => fromProviderState('${csrfToken}', EXAMPLE_CSRF_TOKEN)

/** A key as the API shows it: never the secret. */
const keyView = {
  id: regex('^key_[A-Za-z0-9]{16}$', EXAMPLE_KEY_ID),
  name: string('Dashboard key'),
  hint: regex('^[A-Za-z0-9]{4}$', 'NmlG'),
  createdAt: isoTimestamp(),
  expiresAt: isoTimestamp('2026-04-01T00:00:00.000Z'),
  status: regex('^(active|expired|deleted)$', 'active'),
}

/** `GET /api/v1/session`: the page's first call, which also gives it the CSRF token. */
function sessionRequest(...states: Array<[string, Record<string, string>]>) {
  given(pact.addInteraction(), SIGNED_IN, ...states)
    .uponReceiving('a request for the signed-in dashboard session')
    .withRequest('GET', '/api/v1/session', (builder) => {
      builder.headers({ Cookie: cookie(), Accept: 'application/json' })
    })
    .willRespondWith(200, (builder) =>
      builder.jsonBody({
        account: { id: uuid('3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b'), email: string('user@example.test'), name: string('Dashboard user') },
        csrfToken: string(EXAMPLE_CSRF_TOKEN),
      }),
    )
}

/** The dashboard's client, in a page whose browser holds the example session cookie. */
function signedInApi(origin: string) {
  vi.stubGlobal('fetch', browserFetch(origin, { Cookie: EXAMPLE_COOKIE }))
  return createApi({ onSignedOut: () => undefined })
}

describe('Dashboard (the emulator dashboard’s api.js)', () => {
  it('lists the keys of the signed-in account, without their secrets', async () => {
    sessionRequest(KEY)
    await given(pact.addInteraction(), SIGNED_IN, KEY)
      .uponReceiving('a request to list the api keys of the signed-in account')
      .withRequest('GET', '/api/v1/keys', (builder) => {
        builder.headers({ Cookie: cookie(), Accept: 'application/json' })
      })
      .willRespondWith(200, (builder) => builder.jsonBody({ keys: eachLike(keyView) }))
      .executeTest(async (mockServer) => {
        const api = signedInApi(mockServer.url)
        await api.session()
        const keys = await api.listKeys()
        expect(keys).toEqual([expect.objectContaining({ id: EXAMPLE_KEY_ID, status: 'active' })])
        expect(keys[0]).not.toHaveProperty('key')
      })
  })

  it('creates a key with its CSRF token, and gets the secret in that answer only', async () => {
    sessionRequest()
    await given(pact.addInteraction(), SIGNED_IN)
      .uponReceiving('a request to create an api key')
      .withRequest('POST', '/api/v1/keys', (builder) => {
        builder
          .headers({ Cookie: cookie(), 'X-CSRF-Token': csrfToken(), 'Content-Type': 'application/json', Accept: 'application/json' })
          .jsonBody({ name: string('CI server'), expires: regex(EXPIRY_CHOICES, '90d') })
      })
      .willRespondWith(201, (builder) => builder.jsonBody({ ...keyView, name: string('CI server'), key: regex(API_KEY_PATTERN, EXAMPLE_API_KEY) }))
      .executeTest(async (mockServer) => {
        const api = signedInApi(mockServer.url)
        await api.session()
        const created = await api.createKey({ name: 'CI server', expires: '90d' })
        expect(created.key).toBe(EXAMPLE_API_KEY)
      })
  })

  it('deletes a key with its CSRF token', async () => {
    sessionRequest(KEY)
    await given(pact.addInteraction(), SIGNED_IN, KEY)
      .uponReceiving('a request to delete an api key')
      .withRequest('DELETE', fromProviderState('/api/v1/keys/${keyId}', `/api/v1/keys/${EXAMPLE_KEY_ID}`), (builder) => {
        builder.headers({ Cookie: cookie(), 'X-CSRF-Token': csrfToken(), Accept: 'application/json' })
      })
      .willRespondWith(204)
      .executeTest(async (mockServer) => {
        const api = signedInApi(mockServer.url)
        await api.session()
        expect(await api.deleteKey(EXAMPLE_KEY_ID)).toBeUndefined()
      })
  })

  it('is refused (403 access_denied) when the client is driven with an API key', async () => {
    await given(pact.addInteraction(), KEY)
      .uponReceiving('a request to list api keys with an api key as bearer')
      .withRequest('GET', '/api/v1/keys', (builder) => {
        builder.headers({ Authorization: bearerApiKey(), Accept: 'application/json' })
      })
      .willRespondWith(403, (builder) => builder.jsonBody(oauthError('access_denied')))
      .executeTest(async (mockServer) => {
        vi.stubGlobal('fetch', browserFetch(mockServer.url, { Authorization: `Bearer ${EXAMPLE_API_KEY}` }))
        const api = createApi({ onSignedOut: () => undefined })
        const refused = (await api.listKeys().catch((err: unknown) => err)) as DashboardApiError
        expect(refused).toMatchObject({ name: 'ApiError', status: 403, error: 'access_denied' })
      })
  })
})
