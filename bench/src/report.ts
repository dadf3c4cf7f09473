/**
 * Turns a run's records into per-measurement figures (medians over the rounds), comparisons,
 * the targets with met / missed, and tables (plain for the terminal, Markdown for
 * BENCHMARKS.md).
 *
 * @module
 */
import type { BenchResult, RunRecord } from './run-bench.js'
import { SCENARIO_NUMBER, type Measurement } from './scenarios.js'
import { median } from './stats.js'

/** One measurement's figures: medians over the rounds. */
export interface MeasurementSummary {
  id: string
  scenario: Measurement['scenario']
  label: string
  rounds: number
  rps: number
  p50Ms: number
  p99Ms: number
  cpuUsPerRequest: number
  /** Server CPU use while loaded, in percent of one core. */
  serverCpuPercent: number
  ratioHttp: number
  ratioExpress: number
  /** The lowest and highest ratio to Express over the rounds. */
  ratioExpressRange: [number, number]
  /** Answers that were not 2xx, plus errors and timeouts, over all rounds. */
  failed: number
  requests: number
}

/** A target of issue 6 and whether this run met it (`null`: no target, or not measured). */
export interface TargetResult {
  scenario: number
  name: string
  target: string
  measured: string
  met: boolean | null
}

/** Summarizes every measurement of a run. */
export function summarize(result: BenchResult): MeasurementSummary[] {
  return result.measurements
    .map((m) => {
      const runs = result.runs.filter((r) => r.measurementId === m.id)
      const ratios = runs.map((r) => r.ratioExpress)
      return {
        id: m.id,
        scenario: m.scenario,
        label: m.label,
        rounds: runs.length,
        rps: median(runs.map((r) => r.run.rps)),
        p50Ms: median(runs.map((r) => r.run.latencyMs.p50)),
        p99Ms: median(runs.map((r) => r.run.latencyMs.p99)),
        cpuUsPerRequest: median(runs.map((r) => r.run.cpuUsPerRequest)),
        serverCpuPercent: median(runs.map((r) => r.run.serverCpuPercent)),
        ratioHttp: median(runs.map((r) => r.ratioHttp)),
        ratioExpress: median(ratios),
        ratioExpressRange: [Math.min(...ratios), Math.max(...ratios)] as [number, number],
        failed: runs.reduce((n, r) => n + r.run.non2xx + r.run.errors + r.run.timeouts, 0),
        requests: runs.reduce((n, r) => n + r.run.requests, 0),
      }
    })
    .filter((s) => s.rounds > 0)
}

/**
 * `a` against `b`, round by round: the ratio of their ratios to the Express ceiling (so drift
 * between the two runs cancels out), or of another figure; the median over the rounds.
 */
export function compare(
  result: BenchResult,
  a: string,
  b: string,
  figure: (r: RunRecord) => number = (r) => r.ratioExpress,
): number {
  const values: number[] = []
  const rounds = new Set(result.runs.map((r) => r.round))
  for (const round of rounds) {
    const ra = result.runs.find((r) => r.round === round && r.measurementId === a)
    const rb = result.runs.find((r) => r.round === round && r.measurementId === b)
    if (ra && rb) values.push(figure(ra) / figure(rb))
  }
  return median(values)
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`
const times = (x: number) => `${x.toFixed(2)}×`
const ms = (x: number) => `${x.toFixed(0)} ms`
const mb = (x: number) => `${x.toFixed(0)} MB`

/** The targets, evaluated on a run. Targets whose measurements did not run are left out. */
export function evaluateTargets(result: BenchResult, summaries: MeasurementSummary[]): TargetResult[] {
  const targets: TargetResult[] = []
  const s = new Map(summaries.map((m) => [m.id, m]))
  const has = (...ids: string[]) => ids.every((id) => s.has(id))
  for (const id of ['issue-authenticate', 'issue-legacy']) {
    const m = s.get(id)
    if (!m) continue
    targets.push({
      scenario: 1,
      name: m.label,
      target: '≥ 65% of Express',
      measured: `${pct(m.ratioExpress)} of Express, ${pct(m.ratioHttp)} of node:http`,
      met: m.ratioExpress >= 0.65,
    })
  }
  const exchange = s.get('exchange')
  if (exchange) {
    targets.push({
      scenario: 2,
      name: exchange.label,
      target: '≥ 35% of Express',
      measured: `${pct(exchange.ratioExpress)} of Express, ${pct(exchange.ratioHttp)} of node:http`,
      met: exchange.ratioExpress >= 0.35,
    })
  }
  if (has('issue-authenticate', 'peer-rs256')) {
    const x = compare(result, 'issue-authenticate', 'peer-rs256')
    targets.push({ scenario: 3, name: 'issuance vs oauth2-mock-server (RS256, its default)', target: '≥ 2.5×', measured: times(x), met: x >= 2.5 })
  }
  if (has('issue-authenticate', 'peer-eddsa')) {
    const x = compare(result, 'issue-authenticate', 'peer-eddsa')
    targets.push({ scenario: 3, name: 'issuance vs oauth2-mock-server (EdDSA)', target: '> 1×', measured: times(x), met: x > 1 })
  }
  if (has('exchange', 'peer-rs256', 'peer-eddsa')) {
    targets.push({
      scenario: 3,
      name: 'RFC 8693 exchange vs oauth2-mock-server (RS256 / EdDSA)',
      target: '(no target)',
      measured: `${times(compare(result, 'exchange', 'peer-rs256'))} / ${times(compare(result, 'exchange', 'peer-eddsa'))}`,
      met: null,
    })
  }
  if (has('pop-protected', 'pop-open')) {
    // Not the target's pair: the emulator answers this route on node:http, the open one is Express.
    const x = compare(result, 'pop-protected', 'pop-open')
    const http = s.get('pop-protected')!.ratioHttp
    targets.push({
      scenario: 4,
      name: 'emulator Pop route (node:http) vs the same JSON unprotected on Express; vs the node:http ceiling',
      target: '(no target)',
      measured: `${pct(x)}; ${pct(http)}`,
      met: null,
    })
  }
  if (has('rs-protected', 'rs-open')) {
    const x = compare(result, 'rs-protected', 'rs-open')
    targets.push({ scenario: 4, name: 'the same Express route with requireAccessToken vs without (the target)', target: '≥ 85%', measured: pct(x), met: x >= 0.85 })
  }
  const trials = result.revocation?.trials ?? []
  if (trials.length > 0 && trials.some((t) => t.resource)) {
    const worst = Math.max(...trials.map((t) => t.resource?.fromCommandMs ?? NaN))
    targets.push({
      scenario: 4,
      name: 'revocation at the resource server (from `keys delete` starting)',
      target: '≤ 1 s',
      measured: `worst ${ms(worst)} of ${trials.length}`,
      met: worst <= 1000,
    })
  }
  if (has('scale-large', 'scale-10')) {
    const x = compare(result, 'scale-large', 'scale-10')
    const p99 = compare(result, 'scale-large', 'scale-10', (r) => r.run.latencyMs.p99)
    const keys = result.options.scaleKeys.toLocaleString('en')
    targets.push({ scenario: 5, name: `issuance throughput, ${keys} keys vs 10`, target: '≥ 90%', measured: pct(x), met: x >= 0.9 })
    targets.push({ scenario: 5, name: `issuance p99, ${keys} keys vs 10`, target: '≤ 110%', measured: pct(p99), met: p99 <= 1.1 })
  }
  if (has('scale-large-first-use', 'scale-10')) {
    const x = compare(result, 'scale-large-first-use', 'scale-10')
    const p99 = compare(result, 'scale-large-first-use', 'scale-10', (r) => r.run.latencyMs.p99)
    const keys = result.options.scaleKeys.toLocaleString('en')
    targets.push({
      scenario: 5,
      name: `issuance, ${keys} keys all idle a day (each request a key's first use in the hour: a write) vs 10: throughput; p99`,
      target: '(no target)',
      measured: `${pct(x)}; ${pct(p99)}`,
      met: null,
    })
  }
  for (const id of ['temporary-mint', 'temporary-verify']) {
    const m = s.get(id)
    if (!m) continue
    targets.push({
      scenario: 6,
      name: m.label,
      target: '(no target)',
      measured: `${pct(m.ratioExpress)} of Express, ${pct(m.ratioHttp)} of node:http`,
      met: null,
    })
  }
  const startup = result.startup
  if (startup) {
    targets.push({
      scenario: 7,
      name: 'start to first token (median)',
      target: '≤ 600 ms',
      measured: `${ms(startup.median.emulatorFirstTokenMs)} (node -e 0 ${ms(startup.median.nodeExitMs)}, node:http ${ms(startup.median.httpFirstResponseMs)})`,
      met: startup.median.emulatorFirstTokenMs <= 600,
    })
    targets.push({
      scenario: 7,
      name: 'RSS after load (start-up scenario)',
      target: '≤ 180 MB',
      measured: `${mb(startup.afterLoadRssMb)} (idle ${mb(startup.idleRssMb)}, peak ${mb(startup.afterLoadPeakRssMb)})`,
      met: startup.afterLoadRssMb <= 180,
    })
  }
  if (result.emulatorMemory) {
    targets.push({
      scenario: 7,
      name: 'RSS of the main emulator after every round',
      target: '≤ 180 MB',
      measured: `${mb(result.emulatorMemory.rssMb)} (peak ${mb(result.emulatorMemory.peakRssMb)})`,
      met: result.emulatorMemory.rssMb <= 180,
    })
  }
  if (trials.length > 0) {
    const worst = Math.max(...trials.map((t) => t.emulator.fromCommandMs))
    const worstExit = Math.max(...trials.map((t) => t.emulator.fromCommandExitMs))
    targets.push({
      scenario: 8,
      name: '`keys delete` to first 401 on the emulator, under load',
      target: '≤ 1 s',
      measured: `worst ${ms(worst)} from the command's start, ${ms(worstExit)} from its exit (${trials.length} trials)`,
      met: worst <= 1000,
    })
  }
  return targets.sort((a, b) => a.scenario - b.scenario)
}

/** Rows (the first is the header) as a Markdown table, or as padded columns for the terminal. */
export function table(rows: string[][], markdown: boolean): string {
  if (markdown) {
    const [head, ...body] = rows
    return [head!, head!.map(() => '---'), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n')
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}

const fixed = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-')

/** The figures and the targets as tables. */
export function formatReport(result: BenchResult, options: { markdown?: boolean } = {}): string {
  const markdown = options.markdown ?? false
  const summaries = summarize(result)
  const rows: string[][] = [
    ['#', 'measurement', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'server CPU', '× node:http', '× Express', 'Express range', 'failed'],
  ]
  for (const m of summaries) {
    rows.push([
      m.scenario === 'baseline' ? '-' : String(SCENARIO_NUMBER[m.scenario]),
      markdown ? m.label : m.id,
      fixed(m.rps),
      fixed(m.p50Ms, 1),
      fixed(m.p99Ms, 1),
      fixed(m.cpuUsPerRequest),
      `${fixed(m.serverCpuPercent)}%`,
      fixed(m.ratioHttp, 2),
      fixed(m.ratioExpress, 2),
      `${fixed(m.ratioExpressRange[0], 2)}–${fixed(m.ratioExpressRange[1], 2)}`,
      String(m.failed),
    ])
  }
  const targets = evaluateTargets(result, summaries)
  const targetRows: string[][] = [['#', 'target', 'goal', 'measured', 'met']]
  for (const t of targets) {
    targetRows.push([String(t.scenario), t.name, t.target, t.measured, t.met === null ? '-' : t.met ? 'met' : 'MISSED'])
  }
  const spread = (id: string) => {
    const rps = result.runs.filter((r) => r.measurementId === id).map((r) => r.run.rps)
    return `${fixed(Math.min(...rps))}–${fixed(Math.max(...rps))} req/s over ${rps.length} runs`
  }
  const noise = `Ceiling runs (how noisy the machine was): node:http ${spread('ceiling-http')}, Express ${spread('ceiling-express')}.`
  const m = result.machine
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ')
  const machine =
    `${m.cores} × ${m.model}, ${m.memoryGb} GB RAM, Node ${m.node}; load average ${load(m.loadAverageStart)} at the start, ${load(m.loadAverageEnd)} at the end` +
    (m.git ? `; commit ${m.git.commit.slice(0, 7)}${m.git.dirty ? ' with uncommitted changes in apps/ or packages/' : ''}` : '') +
    `; ${result.options.connections} connections, ${result.options.durationSeconds} s per run, ${result.options.rounds} round(s).`
  const parts = [machine, '', table(rows, markdown), '', noise, '', table(targetRows, markdown)]
  const trials = result.revocation?.trials ?? []
  if (trials.length > 0) {
    const revRows: string[][] = [['trial', 'keys delete ran', 'emulator 401 after start / exit', 'resource server 401 after start / exit', 'load req/s', 'load failed']]
    trials.forEach((t, i) =>
      revRows.push([
        String(i + 1),
        ms(t.commandMs),
        `${ms(t.emulator.fromCommandMs)} / ${ms(t.emulator.fromCommandExitMs)}`,
        t.resource ? `${ms(t.resource.fromCommandMs)} / ${ms(t.resource.fromCommandExitMs)}` : '-',
        fixed(t.load.rps),
        String(t.load.non2xx),
      ]),
    )
    parts.push('', table(revRows, markdown))
  }
  const startup = result.startup
  if (startup) {
    const startRows: string[][] = [['run', 'node -e 0', 'node:http first 200', 'emulator listening', 'emulator first token']]
    startup.runs.forEach((r, i) =>
      startRows.push([String(i + 1), ms(r.nodeExitMs), ms(r.httpFirstResponseMs), ms(r.emulatorListeningMs), ms(r.emulatorFirstTokenMs)]),
    )
    parts.push('', table(startRows, markdown))
  }
  return parts.join('\n')
}
