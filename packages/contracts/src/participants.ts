/**
 * The participants of the contracts and where their pacts live: one file per consumer,
 * `pacts/<Consumer>-EyePopAuth.json`, written by `consumers/` and read by `provider/`.
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

/** The folder the consumer suites write to (a turbo output of `test:consumer`). */
export const PACT_DIR = fileURLToPath(new URL('../pacts/', import.meta.url))

/** The pact file of a consumer: `pacts/<Consumer>-EyePopAuth.json`. */
export function pactFileOf(consumer: Consumer): string {
  return join(PACT_DIR, `${consumer}-${PROVIDER}.json`)
}

/** Pact's log level: `PACT_LOG_LEVEL` (`trace` to `error`), default `error`. */
export function pactLogLevel(): 'trace' | 'debug' | 'info' | 'warn' | 'error' {
  const level = process.env.PACT_LOG_LEVEL
  return level === 'trace' || level === 'debug' || level === 'info' || level === 'warn' ? level : 'error'
}

/**
 * A Pact V4 builder for one consumer against {@link PROVIDER}, writing into {@link PACT_DIR}.
 *
 * @param consumer the consumer's name
 * @example
 * ```ts
 * const pact = createPact('AuthCoreClient')
 * await pact.addInteraction().given('an api key named {name} exists', { name: 'server' })
 *   .uponReceiving('…').withRequest('POST', '/v1/auth/authenticate').willRespondWith(200)
 *   .executeTest(async (mockServer) => { … })
 * ```
 */
export function createPact(consumer: Consumer): PactV4 {
  return new PactV4({
    consumer,
    provider: PROVIDER,
    dir: PACT_DIR,
    spec: SpecificationVersion.SPECIFICATION_VERSION_V4,
    logLevel: pactLogLevel(),
  })
}
