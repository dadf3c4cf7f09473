/**
 * The participants of the contracts and where their pacts live: one file per consumer,
 * `<Consumer>-EyePopAuth.json`, written by `consumers/` and read by `provider/`. Most are written
 * into `pacts/` on every run; the pacts of {@link RECORDED_CONSUMERS} are recorded from a real
 * client into `recorded/` and committed (see {@link pactFileOf}).
 *
 * @module
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PactV4, SpecificationVersion } from '@pact-foundation/pact'

/** The provider every consumer here talks to: EyePop's auth surface (the emulator stands in for it). */
export const PROVIDER = 'EyePopAuth'

/**
 * Every consumer with a suite in `consumers/`. The verification asserts that each one's pact file
 * exists (and no other), so a suite that stops writing its pact fails the build.
 */
export const CONSUMERS = ['AuthCoreClient', 'EyePopNodeSdk', 'EyePopNodeSdkV3', 'BrowserClient', 'Dashboard'] as const

/** One of {@link CONSUMERS}. */
export type Consumer = (typeof CONSUMERS)[number]

/**
 * The consumers whose pact is recorded by driving a real client that only some machines have (the
 * EyePop Node SDK 3.17.2, from ../shared/real-sdks), and committed, so the provider verification
 * checks the emulator against what that client sends on any machine. Re-record with
 * `npm run record -w @eyepop/contracts`; every `npm test` records again into a temporary folder
 * and fails if the client's interactions differ from the committed ones.
 */
export const RECORDED_CONSUMERS: readonly Consumer[] = ['EyePopNodeSdkV3']

/** The folder the consumer suites write to (a turbo output of `test:consumer`). */
export const PACT_DIR = fileURLToPath(new URL('../pacts/', import.meta.url))

/** The folder of the committed, recorded pacts. */
export const RECORDED_DIR = fileURLToPath(new URL('../recorded/', import.meta.url))

/** The pact file of a consumer: `recorded/` or `pacts/`, then `<Consumer>-EyePopAuth.json`. */
export function pactFileOf(consumer: Consumer, dir = RECORDED_CONSUMERS.includes(consumer) ? RECORDED_DIR : PACT_DIR): string {
  return join(dir, `${consumer}-${PROVIDER}.json`)
}

/** Pact's log level: `PACT_LOG_LEVEL` (`trace` to `error`), default `error`. */
export function pactLogLevel(): 'trace' | 'debug' | 'info' | 'warn' | 'error' {
  const level = process.env.PACT_LOG_LEVEL
  return level === 'trace' || level === 'debug' || level === 'info' || level === 'warn' ? level : 'error'
}

/**
 * A Pact V4 builder for one consumer against {@link PROVIDER}, writing into `dir`.
 *
 * @param consumer the consumer's name
 * @param dir where its pact is written. Default is {@link PACT_DIR}.
 * @example
 * ```ts
 * const pact = createPact('AuthCoreClient')
 * await pact.addInteraction().given('an api key named {name} exists', { name: 'server' })
 *   .uponReceiving('…').withRequest('POST', '/v1/auth/authenticate').willRespondWith(200)
 *   .executeTest(async (mockServer) => { … })
 * ```
 */
export function createPact(consumer: Consumer, dir = PACT_DIR): PactV4 {
  return new PactV4({
    consumer,
    provider: PROVIDER,
    dir,
    spec: SpecificationVersion.SPECIFICATION_VERSION_V4,
    logLevel: pactLogLevel(),
  })
}
