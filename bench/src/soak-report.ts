/**
 * The soak's report: the rate reached against the rate asked for, every kind of request with its
 * latency and unexpected answers, the WebSockets, the errors, and the server's RSS over the run
 * (plain for the terminal, Markdown for BENCHMARKS.md).
 *
 * @module
 */
import { table } from './report.js'
import type { SoakResult } from './run-soak.js'
import {
  SOAK_CYCLE,
  SOAK_KINDS,
  SOAK_KIND_LABEL,
  mixShares,
  phaseErrors,
  soakKeyLimits,
  soakTimeline,
  type ResourceSample,
  type SoakPhaseResult,
} from './soak-plan.js'

const fixed = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-')
const count = (n: number) => n.toLocaleString('en')
const percent = (x: number, digits = 0) => `${fixed(x * 100, digits)}%`

/**
 * The RSS growth's verdict: whether RSS grew by at most `limitPercent` after the first seconds
 * (a shrink is within), and the highest it reached after them. Either way it is only recorded.
 */
export function rssVerdict(result: Pick<SoakResult, 'rssGrowth' | 'samples'>, limitPercent = 10): string {
  const g = result.rssGrowth
  if (!g) return 'not measured (the soak did not last beyond the first seconds)'
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${fixed(x, 1)}%`
  const within = g.percent <= limitPercent ? `within ${limitPercent}%` : `NOT within ${limitPercent}%`
  const after = result.samples.filter((s: ResourceSample) => s.phase === 'soak' && s.t >= g.atSeconds)
  const highest = Math.max(...after.map((s) => s.rssMb))
  const peak = after.length > 0 ? `; the highest after it ${fixed(highest, 1)} MB (${signed(((highest - g.fromMb) / g.fromMb) * 100)})` : ''
  const anon = g.anon
    ? `; of it, anonymous memory (heap and native allocations) ${fixed(g.anon.fromMb, 1)} → ${fixed(g.anon.endMb, 1)} MB (${signed(g.anon.percent)}), ` +
      `file-backed (the memory-mapped database, the program's files) ${fixed(g.fromMb - g.anon.fromMb, 1)} → ${fixed(g.endMb - g.anon.endMb, 1)} MB`
    : ''
  return `${fixed(g.fromMb, 1)} MB at ${fixed(g.atSeconds, 1)} s → ${fixed(g.endMb, 1)} MB at the end: ${signed(g.percent)} (${within})${peak}${anon}`
}

function phaseLine(name: string, p: SoakPhaseResult, cpuPercent: number | undefined): string {
  const target = p.targetRps !== undefined ? ` (${percent(p.rps / p.targetRps, 1)} of the ${count(p.targetRps)} req/s asked for)` : ' (unthrottled)'
  return (
    `${name}: ${fixed(p.seconds, 1)} s, ${count(p.requests)} requests, ${count(Math.round(p.rps))} req/s${target}, ` +
    `server CPU ${fixed(cpuPercent ?? NaN)}% of one core, ${phaseErrors(p)} errors.`
  )
}

/** The soak's figures as text. */
export function formatSoakReport(result: SoakResult, options: { markdown?: boolean } = {}): string {
  const markdown = options.markdown ?? false
  const soak = result.phases.find((p) => p.phase === 'soak')
  const max = result.phases.find((p) => p.phase === 'max')
  const m = result.machine
  const machine =
    `${m.cores} × ${m.model}, ${m.memoryGb} GB RAM, Node ${m.node}; load average ${m.loadAverageStart.map((l) => l.toFixed(2)).join(' ')} at the start, ` +
    `${m.loadAverageEnd.map((l) => l.toFixed(2)).join(' ')} at the end` +
    (m.git ? `; commit ${m.git.commit.slice(0, 7)}${m.git.dirty ? ' with uncommitted changes in apps/ or packages/' : ''}` : '') +
    `; ${result.options.connections} connections, ${result.options.websockets} WebSockets, ${count(result.options.keys)} seeded keys.`
  const parts = [machine, '']
  const cpu = result.serverCpuPercent
  if (max) parts.push(phaseLine('Maximum of the mix', max, cpu.max))
  if (soak) parts.push(phaseLine(max ? `Soak at ${percent(result.options.fraction)} of it` : 'Soak at a fixed rate', soak, cpu.soak))
  if (!soak) return parts.join('\n')

  const shares = mixShares(SOAK_CYCLE)
  const rows: string[][] = [['kind', 'share', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'unexpected']]
  for (const kind of SOAK_KINDS) {
    const k = soak.byKind[kind]
    rows.push([
      markdown ? SOAK_KIND_LABEL[kind] : kind,
      percent(shares[kind]),
      count(k.requests),
      fixed(k.requests / soak.seconds),
      fixed(k.latencyMs.p50, 1),
      fixed(k.latencyMs.p99, 1),
      fixed(k.latencyMs.max, 1),
      String(k.unexpected),
    ])
  }
  const s = soak.sockets
  rows.push([
    markdown ? 'WebSocket /data/events (connect; errors: closes not asked for)' : 'websocket',
    '-',
    `${count(s.connects)} connects`,
    '-',
    fixed(s.connectMs.p50, 1),
    fixed(s.connectMs.p99, 1),
    fixed(s.connectMs.max, 1),
    String(s.errors),
  ])
  const unexpected = SOAK_KINDS.reduce((n, kind) => n + soak.byKind[kind].unexpected, 0)
  parts.push('', table(rows, markdown), '')
  parts.push(
    `Errors in the soak: ${phaseErrors(soak)} (unexpected statuses ${unexpected}, network errors ${soak.networkErrors} of which ${soak.timeouts} timeouts, WebSocket errors ${s.errors}); ` +
      `over every phase: ${result.errors}. WebSockets: ${s.reconnects} closed and reopened, ${s.openAtEnd} of ${result.options.websockets} open at the end. ` +
      `Key creations replaced by a listing (${soakKeyLimits(result.options.connections).liveCap} soak keys live): ${count(soak.cappedCreations)}.`,
  )
  const timeline = soakTimeline(result.samples, 'soak', soak.completedPerSecond ?? [], 10)
  if (timeline.length > 0) {
    const rows = [['seconds', 'req/s', 'server CPU', 'CPU µs/req', 'RSS MB at the end']]
    for (const w of timeline) rows.push([`${w.from}–${w.to}`, fixed(w.rps), `${fixed(w.cpuPercent)}%`, fixed(w.cpuUsPerRequest), fixed(w.rssMb, 1)])
    parts.push('', table(rows, markdown))
  }
  const soakSamples = result.samples.filter((x) => x.phase === 'soak')
  parts.push('')
  const rssAt = (t: number) => soakSamples.find((x) => x.t >= t - 0.05)
  const lastT = soakSamples.at(-1)?.t ?? 0
  const step = lastT <= 120 ? 10 : 60
  const series: string[] = []
  for (let t = 0; t <= lastT; t += step) series.push(`${t} s ${fixed(rssAt(t)?.rssMb ?? NaN, 1)}`)
  parts.push(
    `Server RSS over the soak: ${rssVerdict(result)}. Every ${step} s (MB): ${series.join(', ')}${soakSamples.length ? `, end ${fixed(soakSamples.at(-1)!.rssMb, 1)}` : ''}. ` +
      `Peak (VmHWM) over the run: ${fixed(result.peakRssMb, 1)} MB.`,
  )
  const notes = result.phases.flatMap((p) => p.samples.map((line) => `  ${p.phase}: ${line}`))
  if (notes.length > 0) parts.push('', 'First unexpected answers and errors:', ...notes)
  return parts.join('\n')
}
