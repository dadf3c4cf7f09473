/**
 * Runs pact verification against a provider URL whose states are seeded into a running emulator.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { startServer, type RunningServer } from '@eyepop/emulator'
import { Verifier } from '@pact-foundation/pact'
import { pino } from 'pino'
import { PACT_DIR, PROVIDER, RECORDED_DIR, pactLogLevel } from '../src/participants.js'
import { providerStates } from './provider-states.js'

/** Starts the real emulator on a free port with an in-memory store, quiet. */
export function startEmulator(): Promise<RunningServer> {
  return startServer({ port: 0, dataDir: null, logLevel: 'silent' }, { logger: pino({ level: 'silent' }) })
}

/** Every pact file: those written by this run in `pacts/`, and the recorded ones in `recorded/`. */
export function pactFiles(): string[] {
  return [PACT_DIR, RECORDED_DIR].flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((file) => file.endsWith('.json'))
          .sort()
          .map((file) => join(dir, file))
      : [],
  )
}

/**
 * Verifies every pact (see {@link pactFiles}) against `providerBaseUrl`, seeding states into `server`. It
 * rejects if any interaction fails. Results are published to a Pact Broker only when
 * `PACT_BROKER_BASE_URL` is set and `CI` is `true` (see the README), never by default.
 */
export function verifyPacts(providerBaseUrl: string, server: RunningServer): Promise<string> {
  const brokerUrl = process.env.PACT_BROKER_BASE_URL
  const publish = brokerUrl !== undefined && brokerUrl !== '' && process.env.CI === 'true'
  return new Verifier({
    provider: PROVIDER,
    providerBaseUrl,
    pactUrls: pactFiles(),
    ...providerStates(server),
    logLevel: pactLogLevel(),
    ...(publish && {
      publishVerificationResult: true,
      providerVersion: process.env.PACT_PROVIDER_VERSION ?? process.env.GITHUB_SHA ?? 'unknown',
      providerVersionBranch: process.env.PACT_PROVIDER_BRANCH ?? process.env.GITHUB_REF_NAME ?? 'main',
      ...(process.env.PACT_BROKER_TOKEN && { pactBrokerToken: process.env.PACT_BROKER_TOKEN }),
    }),
  }).verifyProvider()
}
