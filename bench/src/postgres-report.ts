/**
 * The tables of a PostgreSQL run (`eyepop-bench postgres`): each measurement's medians over the
 * rounds with its CPU time per request split between the emulators and PostgreSQL, and the
 * comparisons the issue asks for, round by round (the configurations compared run in the same
 * group, in alternating slices, so each round compares the same moments of the machine).
 *
 * @module
 */
import { table } from './report.js'
import { POSTGRES_CONFIG_LABEL, type PostgresBenchResult, type PostgresRunRecord } from './run-postgres.js'
import { median } from './stats.js'

/** One measurement's figures: medians over the rounds. */
export interface PostgresSummary {
  id: string
  label: string
  config: string
  rounds: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** CPU time per request (µs) of the configuration's emulators, all instances. */
  emulatorUs: number
  /** CPU time per request (µs) of every PostgreSQL process (0 on SQLite). */
  postgresUs: number
  /** The two summed: what a request costs the service. */
  totalUs: number
  /** Requests one core serves at that cost: 1,000,000 / `totalUs`. */
  requestsPerCore: number
  /** CPU use while loaded, in percent of one core. */
  emulatorCpuPercent: number
  postgresCpuPercent: number
  /** Answers that were not 2xx, plus errors and timeouts, over all rounds. */
  failed: number
}

/** A comparison of two measurements, round by round. */
export interface PostgresComparison {
  name: string
  a: string
  b: string
  /** `a`'s throughput over `b`'s: median and range over the rounds. */
  throughput: { median: number; min: number; max: number }
  /** `a`'s p99 over `b`'s (median). */
  p99: number
  /** CPU µs per request of `a` minus `b`'s (medians over the rounds): total, emulator, PostgreSQL. */
  extraUs: { total: number; emulator: number; postgres: number }
  /** `a`'s total CPU per request over `b`'s (median). */
  cpuRatio: number
}

const usOf = (r: PostgresRunRecord, part: string) => ((r.run.cpuSecondsByPart?.[part] ?? 0) * 1e6) / r.run.requests
const totalUs = (r: PostgresRunRecord) => usOf(r, 'emulator') + usOf(r, 'postgres')
const percentOf = (r: PostgresRunRecord, part: string) => ((r.run.cpuSecondsByPart?.[part] ?? 0) / r.run.durationSeconds) * 100

/** Summarizes every measurement of a run. */
export function summarizePostgres(result: PostgresBenchResult): PostgresSummary[] {
  return result.measurements
    .map((m) => {
      const runs = result.runs.filter((r) => r.measurementId === m.id)
      const total = median(runs.map(totalUs))
      return {
        id: m.id,
        label: m.label,
        config: POSTGRES_CONFIG_LABEL[m.config],
        rounds: runs.length,
        rps: median(runs.map((r) => r.run.rps)),
        p50Ms: median(runs.map((r) => r.run.latencyMs.p50)),
        p99Ms: median(runs.map((r) => r.run.latencyMs.p99)),
        emulatorUs: median(runs.map((r) => usOf(r, 'emulator'))),
        postgresUs: median(runs.map((r) => usOf(r, 'postgres'))),
        totalUs: total,
        requestsPerCore: 1e6 / total,
        emulatorCpuPercent: median(runs.map((r) => percentOf(r, 'emulator'))),
        postgresCpuPercent: median(runs.map((r) => percentOf(r, 'postgres'))),
        failed: runs.reduce((n, r) => n + r.run.non2xx + r.run.errors + r.run.timeouts, 0),
      }
    })
    .filter((s) => s.rounds > 0)
}

/** `a` against `b`, round by round. */
export function comparePostgres(result: PostgresBenchResult, name: string, a: string, b: string): PostgresComparison | undefined {
  const pairs: Array<[PostgresRunRecord, PostgresRunRecord]> = []
  for (const round of new Set(result.runs.map((r) => r.round))) {
    const ra = result.runs.find((r) => r.round === round && r.measurementId === a)
    const rb = result.runs.find((r) => r.round === round && r.measurementId === b)
    if (ra && rb) pairs.push([ra, rb])
  }
  if (pairs.length === 0) return undefined
  const ratios = pairs.map(([ra, rb]) => ra.run.rps / rb.run.rps)
  return {
    name,
    a,
    b,
    throughput: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
    p99: median(pairs.map(([ra, rb]) => ra.run.latencyMs.p99 / rb.run.latencyMs.p99)),
    extraUs: {
      total: median(pairs.map(([ra, rb]) => totalUs(ra) - totalUs(rb))),
      emulator: median(pairs.map(([ra, rb]) => usOf(ra, 'emulator') - usOf(rb, 'emulator'))),
      postgres: median(pairs.map(([ra, rb]) => usOf(ra, 'postgres') - usOf(rb, 'postgres'))),
    },
    cpuRatio: median(pairs.map(([ra, rb]) => totalUs(ra) / totalUs(rb))),
  }
}

/** The comparisons of issue 16, those whose measurements ran. */
export function postgresComparisons(result: PostgresBenchResult): PostgresComparison[] {
  const keys = result.options.scaleKeys.toLocaleString('en')
  const wanted: Array<[string, string, string]> = [
    ['issuance: PostgreSQL, 1 instance vs SQLite', 'issuance/postgres-1', 'issuance/sqlite-1'],
    ['Pop route: PostgreSQL, 1 instance vs SQLite', 'pop/postgres-1', 'pop/sqlite-1'],
    ['issuance: PostgreSQL, 2 instances vs 1', 'issuance/postgres-2', 'issuance/postgres-1'],
    ['Pop route: PostgreSQL, 2 instances vs 1', 'pop/postgres-2', 'pop/postgres-1'],
    [`issuance on PostgreSQL: ${keys} keys vs 10`, 'issuance/postgres-large', 'issuance/postgres-10'],
  ]
  return wanted.flatMap(([name, a, b]) => comparePostgres(result, name, a, b) ?? [])
}

const fixed = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-')
const pct = (x: number) => `${fixed(x * 100)}%`
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${fixed(Math.abs(x))}`

/** The figures and the comparisons as tables (plain for the terminal, Markdown for BENCHMARKS.md). */
export function formatPostgresReport(result: PostgresBenchResult, options: { markdown?: boolean } = {}): string {
  const markdown = options.markdown ?? false
  const rows: string[][] = [
    ['configuration', 'request', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req emulator', 'CPU µs/req PostgreSQL', 'CPU µs/req total', 'req/s per core', 'emulator CPU', 'PostgreSQL CPU', 'failed'],
  ]
  const summaries = summarizePostgres(result)
  for (const s of summaries) {
    const onPostgres = !s.id.endsWith('/sqlite-1')
    rows.push([
      markdown ? s.config : s.id,
      s.label,
      fixed(s.rps),
      fixed(s.p50Ms, 1),
      fixed(s.p99Ms, 1),
      fixed(s.emulatorUs),
      onPostgres ? fixed(s.postgresUs) : '-',
      fixed(s.totalUs),
      fixed(s.requestsPerCore),
      `${fixed(s.emulatorCpuPercent)}%`,
      onPostgres ? `${fixed(s.postgresCpuPercent)}%` : '-',
      String(s.failed),
    ])
  }
  const comparisonRows: string[][] = [
    ['comparison', 'throughput (median)', 'range over rounds', 'p99', 'CPU per request', 'CPU µs/req more (emulator, PostgreSQL)'],
  ]
  for (const c of postgresComparisons(result)) {
    comparisonRows.push([
      c.name,
      pct(c.throughput.median),
      `${pct(c.throughput.min)}–${pct(c.throughput.max)}`,
      pct(c.p99),
      pct(c.cpuRatio),
      `${signed(c.extraUs.total)} (${signed(c.extraUs.emulator)}, ${signed(c.extraUs.postgres)})`,
    ])
  }
  const m = result.machine
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ')
  const header =
    `${m.cores} × ${m.model}, ${m.memoryGb} GB RAM, Node ${m.node}; ${result.postgres.version.split(' on ')[0]} (${result.postgres.settings.join(', ')}); ` +
    `load average ${load(m.loadAverageStart)} at the start, ${load(m.loadAverageEnd)} at the end` +
    (m.git ? `; commit ${m.git.commit.slice(0, 7)}${m.git.dirty ? ' with uncommitted changes in apps/ or packages/' : ''}` : '') +
    `; ${result.options.connections} connections, ${result.options.durationSeconds} s per run in slices of ${result.options.sliceSeconds} s, ${result.options.rounds} round(s).`
  const idle = `PostgreSQL at rest with the ${result.idle.instances} emulators on it started and idle: ${fixed(result.idle.postgresCpuPercent, 1)}% of a core (their revocation polls).`
  const seeds = Object.entries(result.seedMs).map(([store, ms]) => `${store} ${fixed(ms / 1000, 1)} s`).join(', ')
  return [header, '', table(rows, markdown), '', table(comparisonRows, markdown), '', idle, `Seeding: ${seeds}.`].join('\n')
}
