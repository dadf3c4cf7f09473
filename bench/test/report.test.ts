import { describe, expect, it } from 'vitest'
import { compare, evaluateTargets, summarize } from '../src/report.js'
import { pairsOf, roundOrder, type BenchResult, type RunRecord } from '../src/run-bench.js'
import { BASELINES, loadMeasurements, type Measurement } from '../src/scenarios.js'

function record(round: number, position: number, measurementId: string, rps: number, ratioExpress: number): RunRecord {
  return {
    round,
    position,
    measurementId,
    ratioExpress,
    ratioHttp: ratioExpress / 4,
    loadAverage: 0,
    run: {
      durationSeconds: 10,
      requests: rps * 10,
      ok: rps * 10,
      non2xx: 0,
      errors: 0,
      timeouts: 0,
      statusCodes: { 200: rps * 10 },
      latencyMs: { p50: 2, p90: 4, p99: 8, mean: 2, max: 20 },
      sliceRps: [rps],
      rps,
      serverCpuSeconds: 1,
      cpuUsPerRequest: 100,
      serverCpuPercent: 90,
    },
  }
}

function resultOf(runs: RunRecord[]): BenchResult {
  return {
    startedAt: '',
    finishedAt: '',
    options: { durationSeconds: 10, connections: 50, rounds: 2, warmupSeconds: 0, runWarmupSeconds: 0, sliceSeconds: 1, scenarios: ['issuance', 'peer'], scaleKeys: 100_000, startupRuns: 1 },
    machine: { git: null, cores: 2, model: 'test', memoryGb: 1, node: 'v20', loadAverageStart: [0, 0, 0], loadAverageEnd: [0, 0, 0] },
    measurements: [...BASELINES, ...loadMeasurements('0'.repeat(32))],
    runs,
    seedMs: {},
  }
}

describe('pairsOf', () => {
  it("pairs each scenario's measurements, two at a time, never across scenarios", () => {
    const m = (id: string, scenario: Measurement['scenario']) => ({ id, scenario })
    expect(
      pairsOf([
        m('auth', 'issuance'),
        m('legacy', 'issuance'),
        m('exchange', 'exchange'),
        m('large', 'scale'),
        m('ten', 'scale'),
        m('first-use', 'scale'),
      ]),
    ).toEqual([['auth', 'legacy'], ['exchange'], ['large', 'ten'], ['first-use']])
  })
})

describe('roundOrder', () => {
  it('puts the ceilings before, between every pair and after, a pair as one group', () => {
    expect(roundOrder([['a', 'b'], ['c']], 0)).toEqual([
      ['ceiling-http'], ['ceiling-express'], ['a', 'b'], ['ceiling-express'], ['ceiling-http'], ['c'], ['ceiling-express'], ['ceiling-http'],
    ])
  })

  it('reverses odd rounds, the sides of a pair too', () => {
    expect(roundOrder([['a', 'b']], 1)).toEqual([['ceiling-http'], ['ceiling-express'], ['b', 'a'], ['ceiling-express'], ['ceiling-http']])
  })
})

describe('compare', () => {
  it('takes the median over rounds of the ratio of the ratios to Express', () => {
    const result = resultOf([
      record(0, 2, 'issue-authenticate', 6000, 0.6),
      record(0, 3, 'peer-rs256', 2000, 0.2),
      record(1, 2, 'issue-authenticate', 7000, 0.7),
      record(1, 3, 'peer-rs256', 2000, 0.25),
    ])
    expect(compare(result, 'issue-authenticate', 'peer-rs256')).toBeCloseTo((3 + 2.8) / 2)
  })
})

describe('evaluateTargets', () => {
  it('marks issuance below 65% of Express as missed and a 3× lead on the peer as met', () => {
    const result = resultOf([record(0, 2, 'issue-authenticate', 6000, 0.6), record(0, 3, 'peer-rs256', 2000, 0.2)])
    const targets = evaluateTargets(result, summarize(result))
    expect(targets.map((t) => [t.scenario, t.target, t.met])).toEqual([
      [1, '≥ 65% of Express', false],
      [3, '≥ 2.5×', true],
    ])
  })
})
