/**
 * The provider states of every pact, seeded into a running emulator, and the verifier options
 * that go with them. Each interaction starts from an empty context (`beforeEach`) and its states
 * build on one another in order: the first that needs an account makes a fresh one, so no
 * interaction sees another's keys, Pops or compute sessions. Generated values (API keys, tokens,
 * ids) go back to the verifier, which puts them into the request through the pacts'
 * `fromProviderState` expressions; no real secret is ever in a pact.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  DEFAULT_TEMPORARY_KEY_SCOPES,
  EYEPOP_SDK_CLIENT_ID,
  createApiKey,
  issueAccessToken,
} from '@eyepop/auth-core'
import type { RunningServer } from '@eyepop/emulator'
import type { VerifierOptions } from '@pact-foundation/pact'
import { signInToDashboard } from './dashboard-sign-in.js'

type StateHandlers = NonNullable<VerifierOptions['stateHandlers']>
type Values = Record<string, string>

/** What the states of the current interaction have made so far. */
interface StateContext {
  accountId?: string
  apiKey?: string
  keyId?: string
  accessToken?: string
  popId?: string
}

const DAY_MS = 86_400_000

function nameOf(params: unknown, fallback: string): string {
  const name = (params as Record<string, unknown> | undefined)?.name
  return typeof name === 'string' && name !== '' ? name : fallback
}

/**
 * The verifier options that seed `server`'s emulator: state handlers, the hook that resets the
 * context before each interaction, and the request filter.
 */
export function providerStates(server: RunningServer): Pick<VerifierOptions, 'stateHandlers' | 'beforeEach' | 'requestFilter'> {
  const { emulator, url } = server
  const { services, tokens } = emulator
  let context: StateContext = {}

  async function http(path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
    const res = await fetch(new URL(path, url), init)
    const body = (await res.json()) as Record<string, unknown>
    if (!res.ok) throw new Error(`seeding ${init.method ?? 'GET'} ${path} failed with ${res.status}: ${String(body.error)}`)
    return body
  }

  /** The account of this interaction: a fresh one (no password) unless a state made one. */
  async function account(): Promise<string> {
    if (context.accountId) return context.accountId
    const id = randomUUID()
    await services.store.accounts.create({ id, email: `${id}@contracts.test`, name: 'Contracts', createdAt: Date.now(), passwordHash: null })
    context.accountId = id
    return id
  }

  function need<K extends keyof StateContext>(key: K, state: string): NonNullable<StateContext[K]> {
    const value = context[key]
    if (value === undefined) throw new Error(`state "${state}" needs ${key} from an earlier state`)
    return value as NonNullable<StateContext[K]>
  }

  const stateHandlers: StateHandlers = {
    'no api key is registered': async () => {
      await account()
      return {}
    },

    'an api key named {name} exists': async (params): Promise<Values> => {
      const expires = (params as Record<string, unknown> | undefined)?.expires ?? 'never'
      const created = await services.keys.create(await account(), { name: nameOf(params, 'contract key'), expires })
      const { access_token: accessToken } = await tokens.exchangeApiKey(created.key)
      Object.assign(context, { apiKey: created.key, keyId: created.id, accessToken })
      return { apiKey: created.key, keyId: created.id, accessToken }
    },

    'an api key named {name} was deleted': async (params): Promise<Values> => {
      const accountId = await account()
      const created = await services.keys.create(accountId, { name: nameOf(params, 'deleted key'), expires: 'never' })
      await services.keys.delete(accountId, created.id)
      return { apiKey: created.key }
    },

    // No key can be created already expired through the key service (its choices start at 7
    // days), so this one is created with auth-core over the emulator's own store and pepper.
    'an api key named {name} has expired': async (params): Promise<Values> => {
      const { key } = await createApiKey({
        store: services.store,
        accountId: await account(),
        name: nameOf(params, 'expired key'),
        expiresAt: Date.now() - DAY_MS,
        pepper: services.pepper,
        now: () => Date.now() - 8 * DAY_MS,
      })
      return { apiKey: key }
    },

    'a pop named {name} exists': async (params): Promise<Values> => {
      const pop = await services.pops.create(await account(), { name: nameOf(params, 'contract pop') })
      context.popId = pop.id
      return { popId: pop.id }
    },

    'another pop named {name} exists': async (params): Promise<Values> => {
      const pop = await services.pops.create(await account(), { name: nameOf(params, 'other pop') })
      return { otherPopId: pop.id }
    },

    // The mock worker's pipelines live inside the app (no service for them): they are started
    // through its HTTP API, as the SDK would.
    'the pop has a running pipeline': async (): Promise<Values> => {
      const state = 'the pop has a running pipeline'
      const popId = need('popId', state)
      const config = await http(`/pops/${popId}/config?auto_start=false`, {
        headers: { Authorization: `Bearer ${need('accessToken', state)}` },
      })
      return { pipelineId: String(config.pipeline_id) }
    },

    'a transient pipeline is running': async (): Promise<Values> => {
      const started = await http('/worker/pipelines', {
        method: 'POST',
        headers: { Authorization: `Bearer ${need('accessToken', 'a transient pipeline is running')}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ pop: { components: [] }, source: { sourceType: 'NONE' } }),
      })
      return { pipelineId: String(started.id) }
    },

    'a temporary key for the pop was minted': async (): Promise<Values> => {
      const state = 'a temporary key for the pop was minted'
      const minted = await tokens.mintTemporaryKey({ apiKey: need('apiKey', state) }, { popId: need('popId', state), ttlSeconds: 600 })
      return { temporaryKey: minted.accessToken }
    },

    // Signed with the emulator's own keyring, as if minted an hour ago for 15 minutes: the
    // emulator must refuse it (401) even though the browser still believes it valid.
    'the temporary key for the pop has expired': async (): Promise<Values> => {
      const state = 'the temporary key for the pop has expired'
      const issued = await issueAccessToken({
        keyring: emulator.keyring,
        issuer: emulator.issuer,
        audience: emulator.config.audience,
        subject: await account(),
        keyId: need('keyId', state),
        clientId: EYEPOP_SDK_CLIENT_ID,
        scopes: DEFAULT_TEMPORARY_KEY_SCOPES,
        ttlSeconds: 900,
        temporary: { popId: need('popId', state) },
        now: () => Date.now() - 3_600_000,
      })
      return { temporaryKey: issued.accessToken }
    },

    'a compute session exists': async (): Promise<Values> => {
      const created = await http('/v1/sessions?wait=true', {
        method: 'POST',
        headers: { Authorization: `Bearer ${need('apiKey', 'a compute session exists')}` },
      })
      const [session] = created as unknown as Array<{ session_uuid: string; access_token: string; pipeline_uuid: string }>
      return { sessionUuid: session!.session_uuid, sessionAccessToken: session!.access_token, pipelineId: session!.pipeline_uuid }
    },

    'a user named {name} is signed in to the dashboard': async (params): Promise<Values> => {
      const email = `${randomUUID()}@contracts.test`
      const password = `contracts-${randomUUID()}`
      const created = await services.accounts.create({ email, password, name: nameOf(params, 'Contracts user') })
      context.accountId = created.id
      const { cookie, csrfToken } = await signInToDashboard(url, email, password)
      return { sessionCookie: cookie, csrfToken }
    },
  }

  return {
    stateHandlers,
    beforeEach: async () => {
      context = {}
    },
    requestFilter: reencodeBody,
  }
}

/**
 * The verifier's proxy parses request bodies before it forwards them, and sends any parsed body
 * on as JSON: a form-encoded body (the RFC 8693 exchange at `/token`) would reach the emulator as
 * JSON labelled `application/x-www-form-urlencoded`. This puts a form back in its own encoding, and
 * makes `Content-Length` match the bytes that are forwarded. (It also sees the verifier's own
 * state-setup calls, whose JSON bodies it leaves as they are.)
 */
function reencodeBody(req: IncomingMessage & { body?: unknown }, _res: ServerResponse, next: () => void): void {
  const body = req.body
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
  if (hasBody && body !== undefined && body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) {
    if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      const encoded = Buffer.from(new URLSearchParams(body as Record<string, string>).toString())
      req.body = encoded
      req.headers['content-length'] = String(encoded.length)
    } else {
      req.headers['content-length'] = String(Buffer.byteLength(JSON.stringify(body)))
    }
  }
  next()
}
