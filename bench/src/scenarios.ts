import type { KeysLastUsed } from './keys-last-used.js'

/**
 * The scenarios of issue 6, the load measurements they are made of, and their targets.
 *
 * @module
 */

/** The scenarios, in the order. */
export const SCENARIOS = [
  'issuance',
  'exchange',
  'peer',
  'verify',
  'scale',
  'temporary',
  'startup',
  'revocation',
] as const

/** One of {@link SCENARIOS}. */
export type ScenarioName = (typeof SCENARIOS)[number]

/** The number of each scenario, for the report. */
export const SCENARIO_NUMBER: Record<ScenarioName, number> = {
  issuance: 1,
  exchange: 2,
  peer: 3,
  verify: 4,
  scale: 5,
  temporary: 6,
  startup: 7,
  revocation: 8,
}

/** The processes load measurements are aimed at. */
export type ServerName =
  | 'http'
  | 'express'
  | 'emulator'
  | 'emulator-10'
  | 'emulator-scale'
  | 'emulator-scale-idle'
  | 'peer-rs256'
  | 'peer-eddsa'
  | 'resource'

/**
 * The rotating values a measurement uses in place of `{{value}}`: the 1,000 keys of the main
 * store, the keys of the scale stores, reused access tokens, or reused temporary keys.
 */
export type ValueSet = 'keys' | 'scale-keys' | 'ten-keys' | 'tokens' | 'temporary-keys'

/** A load measurement: one kind of request against one server. */
export interface Measurement {
  id: string
  /** `baseline` for the two ceilings. */
  scenario: ScenarioName | 'baseline'
  label: string
  server: ServerName
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
  values?: ValueSet
  /**
   * The stored last use of the keys in its server's store, set before each run of it (see
   * {@link KeysLastUsed}). Without it, the store is left as the earlier runs left it.
   */
  keysLastUsed?: KeysLastUsed
}

const TOKEN_EXCHANGE_BODY = [
  'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange',
  'client_id=eyepop-sdk',
  'subject_token={{value}}',
  'subject_token_type=urn%3Aeyepop%3Aparams%3Aoauth%3Atoken-type%3Aapi-key',
].join('&')

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }
const JSON_BODY = { 'Content-Type': 'application/json' }
const BEARER = { Authorization: 'Bearer {{value}}' }

/** The two ceilings every other figure is divided by. */
export const BASELINES: readonly Measurement[] = [
  { id: 'ceiling-http', scenario: 'baseline', label: 'node:http, fixed 200 JSON', server: 'http', method: 'GET', path: '/' },
  { id: 'ceiling-express', scenario: 'baseline', label: 'Express 5, fixed 200 JSON', server: 'express', method: 'GET', path: '/' },
]

/**
 * The load measurements of each scenario, in an order that keeps the pairs compared with each
 * other next to each other. `popId` is the seeded Pop.
 */
export function loadMeasurements(popId: string): Measurement[] {
  const popPath = `/pops/${popId}/config`
  return [
    { id: 'issue-authenticate', scenario: 'issuance', label: 'POST /v1/auth/authenticate, 1,000 keys in turn', server: 'emulator', method: 'POST', path: '/v1/auth/authenticate', headers: BEARER, values: 'keys' },
    { id: 'issue-legacy', scenario: 'issuance', label: 'POST /authentication/token, 1,000 keys in turn', server: 'emulator', method: 'POST', path: '/authentication/token', headers: JSON_BODY, body: '{"secret_key":"{{value}}"}', values: 'keys' },
    { id: 'exchange', scenario: 'exchange', label: 'POST /token (RFC 8693, api-key subject), 1,000 keys', server: 'emulator', method: 'POST', path: '/token', headers: FORM, body: TOKEN_EXCHANGE_BODY, values: 'keys' },
    { id: 'peer-rs256', scenario: 'peer', label: 'oauth2-mock-server client_credentials, RS256 (default)', server: 'peer-rs256', method: 'POST', path: '/token', headers: FORM, body: 'grant_type=client_credentials&scope=access%3Ainference-api' },
    { id: 'peer-eddsa', scenario: 'peer', label: 'oauth2-mock-server client_credentials, EdDSA', server: 'peer-eddsa', method: 'POST', path: '/token', headers: FORM, body: 'grant_type=client_credentials&scope=access%3Ainference-api' },
    { id: 'pop-protected', scenario: 'verify', label: 'emulator GET /pops/{id}/config, 100 reused tokens', server: 'emulator', method: 'GET', path: popPath, headers: BEARER, values: 'tokens' },
    // The open routes get the same requests, the same tokens included (and ignored): the
    // difference is the verification, not the bytes of the header.
    { id: 'pop-open', scenario: 'verify', label: 'Express GET /pops/{id}/config, same JSON, no auth', server: 'express', method: 'GET', path: popPath, headers: BEARER, values: 'tokens' },
    { id: 'rs-protected', scenario: 'verify', label: 'resource server + requireAccessToken, 100 reused tokens', server: 'resource', method: 'GET', path: popPath, headers: BEARER, values: 'tokens' },
    { id: 'rs-open', scenario: 'verify', label: 'resource server, same route without it', server: 'resource', method: 'GET', path: `/open${popPath}`, headers: BEARER, values: 'tokens' },
    // Both stores as in service: every key's last use somewhere in the past hour.
    { id: 'scale-large', scenario: 'scale', label: 'POST /v1/auth/authenticate, large store, every key in turn', server: 'emulator-scale', method: 'POST', path: '/v1/auth/authenticate', headers: BEARER, values: 'scale-keys', keysLastUsed: 'within-the-hour' },
    { id: 'scale-10', scenario: 'scale', label: 'POST /v1/auth/authenticate, 10 keys in the store', server: 'emulator-10', method: 'POST', path: '/v1/auth/authenticate', headers: BEARER, values: 'ten-keys', keysLastUsed: 'within-the-hour' },
    // The worst case: every key idle for a day, so every request is a key's first use in the hour.
    // Its own emulator, on a copy of the large store, so that its writes never touch the pair's.
    { id: 'scale-large-first-use', scenario: 'scale', label: 'POST /v1/auth/authenticate, large store, every key idle a day (a write per request)', server: 'emulator-scale-idle', method: 'POST', path: '/v1/auth/authenticate', headers: BEARER, values: 'scale-keys', keysLastUsed: 'a-day-ago' },
    { id: 'temporary-mint', scenario: 'temporary', label: 'POST /v1/auth/client-sessions, 1,000 keys in turn', server: 'emulator', method: 'POST', path: '/v1/auth/client-sessions', headers: { ...BEARER, ...JSON_BODY }, body: `{"pop_id":"${popId}"}`, values: 'keys' },
    { id: 'temporary-verify', scenario: 'temporary', label: 'emulator GET /pops/{id}/config, 100 reused temporary keys', server: 'emulator', method: 'GET', path: popPath, headers: BEARER, values: 'temporary-keys' },
  ]
}

/** Measurements other scenarios need for their comparisons (the peer is compared with issuance). */
export const COMPARISON_NEEDS: Partial<Record<ScenarioName, string[]>> = {
  peer: ['issue-authenticate', 'exchange'],
}
