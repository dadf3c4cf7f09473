/**
 * The soak's pure parts: the cycle every connection repeats (each step finds what it uses made
 * by an earlier step), the shares of the mix, the target rate, the RSS growth after the first
 * seconds and the count of errors.
 */
import { describe, expect, it } from 'vitest'
import {
  SOAK_CYCLE,
  SOAK_KINDS,
  mixShares,
  phaseErrors,
  rssGrowth,
  soakKeyLimits,
  soakTargetRps,
  soakTimeline,
  type KindResult,
  type ResourceSample,
  type SoakKind,
  type SoakPhaseResult,
} from '../src/soak-plan.js'

const indexOf = (predicate: (step: (typeof SOAK_CYCLE)[number]) => boolean) => SOAK_CYCLE.findIndex(predicate)

describe('SOAK_CYCLE', () => {
  it('sends every kind of the mix', () => {
    expect(new Set(SOAK_CYCLE.map((s) => s.kind))).toEqual(new Set(SOAK_KINDS))
  })

  it('uses each token, temporary key and created key only after the step that makes it', () => {
    const issued = indexOf((s) => s.kind === 'issue' && s.key === 'seeded')
    const exchanged = indexOf((s) => s.kind === 'exchange')
    const temporary = indexOf((s) => s.kind === 'client-session')
    const created = indexOf((s) => s.kind === 'key-create')
    const made = { issued, exchanged, temporary }
    SOAK_CYCLE.forEach((step, i) => {
      if (step.kind === 'pop-config' || step.kind === 'worker') expect(i).toBeGreaterThan(made[step.token])
      if ((step.kind === 'issue' && step.key === 'created') || step.kind === 'key-delete') expect(i).toBeGreaterThan(created)
      if (step.kind === 'revoke') expect(i).toBeGreaterThan(exchanged)
    })
  })

  it('never uses the exchanged token after revoking it, nor the created key after deleting it', () => {
    const revoked = indexOf((s) => s.kind === 'revoke')
    const deleted = indexOf((s) => s.kind === 'key-delete')
    SOAK_CYCLE.forEach((step, i) => {
      if (i > revoked) expect(step).not.toMatchObject({ token: 'exchanged' })
      if (i > deleted) expect(step).not.toMatchObject({ kind: 'issue', key: 'created' })
    })
  })
})

describe('mixShares()', () => {
  it('gives each kind its share of the cycle, summing to 1', () => {
    const shares = mixShares(SOAK_CYCLE)
    expect(shares['pop-config']).toBeCloseTo(6 / 20)
    expect(shares.worker).toBeCloseTo(5 / 20)
    expect(shares.issue).toBeCloseTo(2 / 20)
    expect(shares.revoke).toBeCloseTo(1 / 20)
    expect(Object.values(shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1)
  })

  it('gives 0 to a kind the cycle does not send', () => {
    expect(mixShares([{ kind: 'keys-list' }]).revoke).toBe(0)
  })
})

describe('soakTargetRps()', () => {
  it('is the fraction of the maximum, in whole requests per second', () => {
    expect(soakTargetRps(7432.6, 0.7)).toBe(5203)
  })

  it('is at least 1', () => {
    expect(soakTargetRps(0.5, 0.7)).toBe(1)
  })

  it('refuses a maximum or a fraction that is not positive', () => {
    expect(() => soakTargetRps(0, 0.7)).toThrow(RangeError)
    expect(() => soakTargetRps(100, 0)).toThrow(RangeError)
    expect(() => soakTargetRps(Number.NaN, 0.7)).toThrow(RangeError)
  })
})

describe('rssGrowth()', () => {
  const series = (phase: ResourceSample['phase'], rss: number[]): ResourceSample[] =>
    rss.map((rssMb, t) => ({ phase, t, rssMb, cpuPercent: t === 0 ? null : 90 }))

  it('compares the last sample with the first at or after the given second, in percent', () => {
    const samples = series('soak', [100, 150, 180, 200, 200, 200, 200, 200, 200, 200, 200, 205, 208, 210])
    expect(rssGrowth(samples, 'soak', 10)).toEqual({ fromSeconds: 10, atSeconds: 10, fromMb: 200, endMb: 210, percent: 5 })
  })

  it('takes a sample a few milliseconds early as on time, and reads only its phase', () => {
    const samples = [
      ...series('max', [50, 60, 70]),
      { phase: 'soak' as const, t: 0, rssMb: 100, cpuPercent: null },
      { phase: 'soak' as const, t: 1.997, rssMb: 120, cpuPercent: 80 },
      { phase: 'soak' as const, t: 3.001, rssMb: 108, cpuPercent: 80 },
    ]
    expect(rssGrowth(samples, 'soak', 2)).toMatchObject({ atSeconds: 1.997, fromMb: 120, endMb: 108, percent: -10 })
  })

  it('splits out anonymous memory when the samples carry it', () => {
    const samples: ResourceSample[] = [
      { phase: 'soak', t: 0, rssMb: 200, anonMb: 150, fileMb: 50, cpuPercent: null },
      { phase: 'soak', t: 10, rssMb: 220, anonMb: 160, fileMb: 60, cpuPercent: 80 },
      { phase: 'soak', t: 20, rssMb: 250, anonMb: 168, fileMb: 82, cpuPercent: 80 },
    ]
    expect(rssGrowth(samples, 'soak', 10)).toMatchObject({ fromMb: 220, endMb: 250, anon: { fromMb: 160, endMb: 168, percent: 5 } })
    expect(rssGrowth(series('soak', [100, 110, 120]), 'soak', 1)?.anon).toBeUndefined()
  })

  it('is undefined when the phase ended before the given second', () => {
    expect(rssGrowth(series('soak', [100, 110, 120]), 'soak', 10)).toBeUndefined()
    expect(rssGrowth(series('soak', [100, 110, 120]), 'soak', 2)).toBeUndefined()
    expect(rssGrowth(series('max', [100, 110, 120]), 'soak', 0)).toBeUndefined()
  })
})

describe('soakKeyLimits()', () => {
  it('lets every connection hold the key it created, below the emulator\'s raised limit', () => {
    expect(soakKeyLimits(50)).toEqual({ maxKeysPerAccount: 60, liveCap: 55 })
  })

  it('never goes below the emulator\'s default limit of 20', () => {
    expect(soakKeyLimits(2)).toEqual({ maxKeysPerAccount: 20, liveCap: 15 })
  })
})

describe('soakTimeline()', () => {
  // One sample a second, CPU climbing 10 points every second, RSS 100 MB + 1 MB a second.
  const samples: ResourceSample[] = [
    { phase: 'max', t: 1, rssMb: 1, cpuPercent: 1 },
    ...Array.from({ length: 21 }, (_, t): ResourceSample => ({ phase: 'soak', t, rssMb: 100 + t, cpuPercent: t === 0 ? null : 10 * t })),
  ]

  it('gives each window its rate, mean CPU, CPU per request and last RSS', () => {
    const perSecond = Array.from({ length: 20 }, () => 1000)
    expect(soakTimeline(samples, 'soak', perSecond, 10)).toEqual([
      { from: 0, to: 10, rps: 1000, cpuPercent: 55, cpuUsPerRequest: 550, rssMb: 110 },
      { from: 10, to: 20, rps: 1000, cpuPercent: 155, cpuUsPerRequest: 1550, rssMb: 120 },
    ])
  })

  it('drops a last, shorter window, unless it is the only one', () => {
    expect(soakTimeline(samples, 'soak', Array.from({ length: 15 }, () => 100), 10).map((w) => [w.from, w.to])).toEqual([[0, 10]])
    expect(soakTimeline(samples, 'soak', Array.from({ length: 4 }, () => 100), 10)).toMatchObject([{ from: 0, to: 4, rps: 100, cpuPercent: 25 }])
  })
})

describe('phaseErrors()', () => {
  const kinds = (unexpected: Partial<Record<SoakKind, number>>) =>
    Object.fromEntries(
      SOAK_KINDS.map((k) => [k, { requests: 10, unexpected: unexpected[k] ?? 0, statusCodes: {}, latencyMs: { p50: 1, p99: 2, max: 3 } } satisfies KindResult]),
    ) as SoakPhaseResult['byKind']
  const sockets = (errors: number): SoakPhaseResult['sockets'] => ({ connects: 8, reconnects: 2, errors, openAtEnd: 8, connectMs: { p50: 1, p99: 2, max: 3 } })

  it('is 0 when every answer was the expected one and nothing failed', () => {
    expect(phaseErrors({ byKind: kinds({}), networkErrors: 0, sockets: sockets(0) })).toBe(0)
  })

  it('adds unexpected statuses of every kind, network errors and WebSocket errors', () => {
    expect(phaseErrors({ byKind: kinds({ issue: 1, 'key-create': 2 }), networkErrors: 3, sockets: sockets(4) })).toBe(10)
  })
})
