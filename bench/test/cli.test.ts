/**
 * A smoke run of the harness with tiny durations, so that `npm run bench` cannot rot: it seeds a
 * store, starts the emulator and both ceilings in their own processes, drives them with autocannon
 * in its own process, and writes the results file. The figures themselves mean nothing here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from './run-cli.js'
import type { BenchResult } from '../src/run-bench.js'

describe('eyepop-bench run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eyepop-bench-test-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  describe('with tiny durations and three scenarios', () => {
    it('measures every run against both ceilings and writes the results file', async () => {
      const out = join(dir, 'results.json')
      const { code, stdout, stderr } = await runCli([
        '--duration', '0.3',
        '--connections', '1',
        '--rounds', '1',
        '--warmup', '0',
        '--run-warmup', '0',
        '--slice', '0.1',
        '--scenarios', 'issuance,exchange,scale',
        '--scale-keys', '20',
        '--json', out,
      ])
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
      expect(stdout).toMatch(/ceiling-express/)
      expect(stdout).toMatch(/≥ 65% of Express/)

      const result = JSON.parse(readFileSync(out, 'utf8')) as BenchResult
      const ids = [...new Set(result.runs.map((r) => r.measurementId))].sort()
      expect(ids).toEqual([
        'ceiling-express',
        'ceiling-http',
        'exchange',
        'issue-authenticate',
        'issue-legacy',
        'scale-10',
        'scale-large',
        'scale-large-first-use',
      ])
      expect(stdout).toMatch(/issuance p99, 20 keys vs 10/)
      for (const { measurementId, run, ratioExpress, ratioHttp } of result.runs) {
        expect({ measurementId, failed: run.non2xx + run.errors + run.timeouts }).toEqual({ measurementId, failed: 0 })
        expect(run.requests).toBeGreaterThan(0)
        expect(Number.isFinite(run.cpuUsPerRequest)).toBe(true)
        expect(run.latencyMs.p50).toBeGreaterThan(0)
        expect(run.latencyMs.p99).toBeGreaterThanOrEqual(run.latencyMs.p50)
        expect(ratioExpress).toBeGreaterThan(0)
        expect(ratioHttp).toBeGreaterThan(0)
      }
      // A pair runs in alternating slices (0.3 s in slices of 0.1 s: three each); a single measurement in one.
      const slicesOf = (id: string) => result.runs.find((r) => r.measurementId === id)!.run.sliceRps.length
      expect([slicesOf('scale-large'), slicesOf('scale-10'), slicesOf('scale-large-first-use'), slicesOf('ceiling-http')]).toEqual([3, 3, 1, 1])
      expect(result.machine.cores).toBeGreaterThan(0)
    })
  })

  describe('with an unknown scenario', () => {
    it('exits 1 and names the valid ones', async () => {
      const { code, stderr } = await runCli(['--scenarios', 'nope'])
      expect(code).toBe(1)
      expect(stderr).toMatch(/issuance, exchange, peer/)
    })
  })
})
