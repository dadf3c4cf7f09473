/**
 * A smoke run of `eyepop-bench postgres` with tiny durations, so that the PostgreSQL benchmark
 * cannot rot: it starts a throwaway PostgreSQL server, seeds a SQLite store and three databases,
 * starts five emulators through their CLI, loads each configuration, and writes the results file.
 * The figures themselves mean nothing here. The same for `lookup --postgres`. Where PostgreSQL is
 * not installed, the runs fail (and so do these tests): they are never skipped.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from './run-cli.js'
import { formatPostgresReport, postgresComparisons } from '../src/postgres-report.js'
import type { PostgresBenchResult } from '../src/run-postgres.js'

describe('eyepop-bench postgres', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eyepop-bench-pg-test-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  describe('with tiny durations', () => {
    it('measures every configuration with its emulators\' and PostgreSQL\'s CPU time, and writes the results file', { timeout: 180_000 }, async () => {
      const out = join(dir, 'postgres.json')
      const { code, stdout, stderr } = await runCli([
        'postgres',
        '--duration', '0.4',
        '--connections', '4',
        '--rounds', '1',
        '--warmup', '0',
        '--run-warmup', '0',
        '--slice', '0.2',
        '--keys', '120',
        '--scale-keys', '500',
        '--json', out,
      ])
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
      expect(stdout).toMatch(/PostgreSQL at rest: /)

      const result = JSON.parse(readFileSync(out, 'utf8')) as PostgresBenchResult
      expect(result.kind).toBe('postgres')
      expect(result.postgres.version).toMatch(/^PostgreSQL \d+/)
      expect(Object.keys(result.seedMs).sort()).toEqual(['large', 'main', 'sqlite', 'ten'])
      expect(result.runs.map((r) => r.measurementId).sort()).toEqual([
        'issuance/postgres-1',
        'issuance/postgres-10',
        'issuance/postgres-2',
        'issuance/postgres-large',
        'issuance/sqlite-1',
        'pop/postgres-1',
        'pop/postgres-2',
        'pop/sqlite-1',
      ])
      for (const { measurementId, run } of result.runs) {
        // Not one refusal: the two instances accept each other's tokens, every key is found.
        expect({ measurementId, failed: run.non2xx + run.errors + run.timeouts }).toEqual({ measurementId, failed: 0 })
        expect(run.requests).toBeGreaterThan(0)
        expect(run.latencyMs.p99).toBeGreaterThanOrEqual(run.latencyMs.p50)
        // Each group runs in alternating slices: 0.4 s in slices of 0.2 s, two each.
        expect(run.sliceRps).toHaveLength(2)
        const parts = Object.keys(run.cpuSecondsByPart ?? {}).sort()
        expect(parts).toEqual(measurementId.endsWith('/sqlite-1') ? ['emulator'] : ['emulator', 'postgres'])
        expect(run.cpuSecondsByPart!.emulator).toBeGreaterThan(0)
      }
      // Issuance looks its key up in PostgreSQL on every request: the server's processes worked.
      const issuanceOnPostgres = result.runs.filter((r) => r.measurementId.startsWith('issuance/postgres'))
      expect(issuanceOnPostgres.reduce((sum, r) => sum + r.run.cpuSecondsByPart!.postgres!, 0)).toBeGreaterThan(0)

      expect(postgresComparisons(result).map((c) => c.name)).toEqual([
        'issuance: PostgreSQL, 1 instance vs SQLite',
        'Pop route: PostgreSQL, 1 instance vs SQLite',
        'issuance: PostgreSQL, 2 instances vs 1',
        'Pop route: PostgreSQL, 2 instances vs 1',
        'issuance on PostgreSQL: 500 keys vs 10',
      ])
      expect(formatPostgresReport(result, { markdown: true })).toMatch(/^\| PostgreSQL, 2 instances \(half the connections each\) \| POST \/v1\/auth\/authenticate/m)
    })
  })
})

describe('eyepop-bench lookup --postgres', () => {
  it('times the lookup in this process and in the server\'s processes, on both databases', { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runCli(['lookup', '--postgres', '--keys', '300', '--rounds', '2', '--lookups', '300', '--concurrency', '10'])
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toMatch(/^findByHash on PostgreSQL \d+/m)
    // Two sections (this process, the server), each with both databases and their ratio.
    expect(stdout.match(/^ {2}300 keys: median \d+\.\d+ \(\S+ \S+\)$/gm)).toHaveLength(2)
    expect(stdout.match(/^ {2}10 keys: median \d+\.\d+ \(\S+ \S+\)$/gm)).toHaveLength(2)
    expect(stdout).toMatch(/^the PostgreSQL server's processes, µs of CPU per lookup:$/m)
  })
})
