import { rmSync } from 'node:fs'
import { PACT_DIR } from '../src/participants.js'

/**
 * Vitest global setup of the consumer suites: start from an empty `pacts/`. Pact merges new
 * interactions into an existing file, so an interaction removed from a suite would otherwise
 * linger in the contract and keep being verified.
 */
export default function cleanPacts(): void {
  rmSync(PACT_DIR, { recursive: true, force: true })
}
