/**
 * A smoke run of `eyepop-bench soak` with tiny durations, so that the soak cannot rot: it seeds a
 * store, starts the emulator in its own process, signs a user in through the device flow, runs
 * the mix (with WebSockets) unthrottled and then at 70% of that, and must see no error. The
 * figures themselves mean nothing here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from './run-cli.js'
import type { SoakResult } from '../src/run-soak.js'
import { SOAK_KINDS, type ResourceSample } from '../src/soak-plan.js'
import { formatSoakReport, rssVerdict } from '../src/soak-report.js'

describe('eyepop-bench soak', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eyepop-bench-soak-test-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  describe('with tiny durations', () => {
    it('sends every kind of the mix and the WebSockets without an error, and writes the results file', async () => {
      const out = join(dir, 'soak.json')
      const { code, stdout, stderr } = await runCli([
        'soak',
        '--warmup', '0',
        '--max-seconds', '1',
        '--duration', '2',
        '--rss-from', '1',
        '--connections', '4',
        '--websockets', '2',
        '--reconnect-every', '1',
        '--keys', '30',
        '--json', out,
      ])
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
      expect(stdout).toMatch(/Maximum of the mix: /)

      const result = JSON.parse(readFileSync(out, 'utf8')) as SoakResult
      expect(result.phases.map((p) => p.phase)).toEqual(['max', 'soak'])
      expect(result.errors).toBe(0)
      const soak = result.phases[1]!
      expect(soak.targetRps).toBe(Math.round(result.phases[0]!.rps * 0.7))
      for (const kind of SOAK_KINDS) expect(soak.byKind[kind].requests, kind).toBeGreaterThan(0)
      expect(soak.sockets).toMatchObject({ errors: 0, openAtEnd: 2 })
      expect(soak.sockets.reconnects).toBeGreaterThan(0)
      expect(result.samples.filter((s) => s.phase === 'soak').length).toBeGreaterThanOrEqual(3)
      expect(soak.completedPerSecond.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      expect(result.rssGrowth?.fromMb).toBeGreaterThan(0)
      expect(formatSoakReport(result, { markdown: true })).toMatch(/^\| POST \/v1\/auth\/authenticate/m)
    })
  })
})

describe('rssVerdict()', () => {
  const at = (t: number, rssMb: number): ResourceSample => ({ phase: 'soak', t, rssMb, cpuPercent: 90 })
  const result = (percent: number, highest = 200) => ({
    rssGrowth: { fromSeconds: 10, atSeconds: 10.001, fromMb: 200, endMb: 200 * (1 + percent / 100), percent },
    samples: [at(5, 400), at(10.001, 200), at(20, highest), at(30, 200 * (1 + percent / 100))],
  })

  it('says whether RSS grew by at most 10% after the first seconds, and the highest it reached after them', () => {
    expect(rssVerdict(result(3.25, 210))).toBe(
      '200.0 MB at 10.0 s → 206.5 MB at the end: +3.3% (within 10%); the highest after it 210.0 MB (+5.0%)',
    )
    expect(rssVerdict(result(12))).toMatch(/\+12\.0% \(NOT within 10%\); the highest after it 224\.0 MB \(\+12\.0%\)$/)
  })

  it('counts a shrink as within', () => {
    expect(rssVerdict(result(-18))).toMatch(/: -18\.0% \(within 10%\); the highest after it 200\.0 MB \(\+0\.0%\)$/)
  })

  it('says so when the soak was too short to tell', () => {
    expect(rssVerdict({ samples: [] })).toMatch(/^not measured/)
  })
})
