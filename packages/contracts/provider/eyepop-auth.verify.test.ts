/**
 * Provider verification: the real emulator (in-memory store) honours every interaction of every
 * pact in `pacts/`. States are seeded through the emulator's service layer (provider-states.ts)
 * and hand generated keys, tokens and ids to the requests through `fromProviderState`.
 *
 * The build fails if a consumer suite stopped writing its pact, if a pact has no interaction or a
 * pending one (pending interactions would not fail verification), or if any interaction fails.
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { RunningServer } from '@eyepop/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLE_API_KEY } from '../src/matchers.js'
import { CONSUMERS, PROVIDER, pactFileOf } from '../src/participants.js'
import { pactFiles, startEmulator, verifyPacts } from './verify-emulator.js'

let running: RunningServer

beforeAll(async () => {
  running = await startEmulator()
})
afterAll(() => running?.close())

interface PactFile {
  consumer: { name: string }
  provider: { name: string }
  interactions: Array<{ description: string; pending?: boolean }>
}

describe(`${PROVIDER} (the emulator)`, () => {
  it('has exactly one pact file per consumer suite', () => {
    expect(pactFiles().map((file) => basename(file)).sort()).toEqual(CONSUMERS.map((c) => basename(pactFileOf(c))).sort())
  })

  it('has interactions in every pact, none of them pending, and no real API key', () => {
    for (const consumer of CONSUMERS) {
      const text = readFileSync(pactFileOf(consumer), 'utf8')
      const pact = JSON.parse(text) as PactFile
      expect(pact.consumer.name).toBe(consumer)
      expect(pact.provider.name).toBe(PROVIDER)
      expect(pact.interactions.length, consumer).toBeGreaterThan(0)
      expect(pact.interactions.filter((i) => i.pending === true), consumer).toEqual([])
      // The only API key a pact may hold is the documented example, which no account has.
      expect(new Set(text.match(/eyp_[A-Za-z0-9]{50}/g) ?? [EXAMPLE_API_KEY]), consumer).toEqual(new Set([EXAMPLE_API_KEY]))
    }
  })

  it('honours every interaction of every pact', async () => {
    // pact-core resolves with its JSON report: every interaction of every file must be in it, OK.
    const report = JSON.parse(await verifyPacts(running.url, running)) as {
      interactionResults: Array<{ consumer: string; description: string; result: string; pending: boolean }>
    }
    const expected = CONSUMERS.flatMap((consumer) =>
      (JSON.parse(readFileSync(pactFileOf(consumer), 'utf8')) as PactFile).interactions.map((i) => `${consumer}: ${i.description}`),
    )
    const verified = report.interactionResults.filter((r) => r.result === 'OK' && !r.pending).map((r) => `${r.consumer}: ${r.description}`)
    expect(verified.sort()).toEqual(expected.sort())
  })
})
