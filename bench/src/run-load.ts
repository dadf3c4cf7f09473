/**
 * Runs a load (autocannon in its own process, see `load-worker.ts`) against one server, or two
 * loads in alternating slices, and reads each server's CPU time over its loaded intervals from
 * `/proc`.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { LoadPlan, LoadSpec, LoadWorkerResult } from './load-plan.js'
import { readCpuSeconds } from './proc-stat.js'
import { track } from './spawn-server.js'

const WORKER = fileURLToPath(new URL('./load-worker.js', import.meta.url))

/**
 * Reads the CPU time (in seconds, so far) of what a load is aimed at, by part: `{ server }` for one
 * process, or e.g. `{ emulator, postgres }` for emulators and the database they share.
 */
export type CpuMeter = () => Record<string, number>

/** A meter of one process: `{ server }`. */
export function processCpuMeter(pid: number): CpuMeter {
  return () => ({ server: readCpuSeconds(pid) })
}

/** Where a load's CPU time is read: its server's pid, or a meter of several parts. */
export type CpuSource = { serverPid: number } | { cpu: CpuMeter }

function meterOf(source: CpuSource): CpuMeter {
  return 'cpu' in source ? source.cpu : processCpuMeter(source.serverPid)
}

/** One load: the worker's figures and the server's CPU time. */
export interface LoadRun extends LoadWorkerResult {
  /** Completed requests per second. */
  rps: number
  /** Server CPU time (user + system) over the recorded time, in seconds: every part's, summed. */
  serverCpuSeconds: number
  /** The same by part of the meter (`server` for one process; absent in results files from before it). */
  cpuSecondsByPart?: Record<string, number>
  /** Server CPU time per completed request, in microseconds. */
  cpuUsPerRequest: number
  /** Server CPU use over the recorded time, in percent of one core. */
  serverCpuPercent: number
}

/** Options of {@link runLoad}: the load, and its server's pid or a meter of several parts. */
export type RunLoadOptions = CpuSource & {
  spec: LoadSpec
  /** A folder for the spec file. */
  workDir: string
  /** Called when the connections are open (for probes that run alongside the load). */
  onStart?: () => void
}

/** Options of {@link runAlternating}. */
export interface RunAlternatingOptions {
  /**
   * The two or three loads, each with its server's pid (the same server for two routes of one
   * process) or a meter.
   */
  sides: ReadonlyArray<CpuSource & { spec: LoadSpec }>
  /** Slices per side: each side's `durationSeconds` is cut into this many runs. */
  slices: number
  workDir: string
}

let specCounter = 0

/** Runs a plan in a worker process; `onStart` is called when the first slice's connections open. */
function runPlan(plan: LoadPlan, meters: CpuMeter[], workDir: string, onStart?: () => void): Promise<LoadRun[]> {
  const specFile = join(workDir, `load-${process.pid}-${specCounter++}.json`)
  writeFileSync(specFile, JSON.stringify(plan))
  const child = spawn(process.execPath, [WORKER, specFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  return new Promise<LoadRun[]>((resolve, reject) => {
    const cpu = meters.map((): Record<string, number> => ({}))
    const wall = meters.map(() => 0)
    let open: { side: number; cpu: Record<string, number>; wall: number } | undefined
    let started = false
    let runs: LoadRun[] | undefined
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      let message: { event?: string; side?: number; results?: LoadWorkerResult[] }
      try {
        message = JSON.parse(line) as typeof message
      } catch {
        return
      }
      const side = message.side ?? 0
      if (message.event === 'start') {
        if (!started) {
          started = true
          onStart?.()
        }
        open = { side, cpu: meters[side]!(), wall: performance.now() }
      } else if (message.event === 'stop' && open?.side === side) {
        const now = meters[side]!()
        for (const [part, seconds] of Object.entries(now)) cpu[side]![part] = (cpu[side]![part] ?? 0) + seconds - (open.cpu[part] ?? seconds)
        wall[side]! += (performance.now() - open.wall) / 1000
        open = undefined
      } else if (message.event === 'done' && message.results?.length === meters.length) {
        runs = message.results.map((r, i) => {
          const total = Object.values(cpu[i]!).reduce((a, b) => a + b, 0)
          return {
            ...r,
            rps: r.durationSeconds > 0 ? r.requests / r.durationSeconds : 0,
            serverCpuSeconds: total,
            cpuSecondsByPart: cpu[i]!,
            cpuUsPerRequest: r.requests > 0 ? (total * 1e6) / r.requests : NaN,
            serverCpuPercent: wall[i]! > 0 ? (total / wall[i]!) * 100 : NaN,
          }
        })
      }
    })
    child.once('error', reject)
    child.once('close', (code) => {
      if (runs && code === 0) resolve(runs)
      else reject(new Error(`load worker failed (exit ${code}): ${stderr.trim() || 'no result'}`))
    })
  })
}

/**
 * Runs a load and resolves with its figures.
 *
 * @example
 * ```ts
 * const run = await runLoad({ spec: { url, connections: 50, durationSeconds: 10, method: 'GET',
 *   path: '/' }, serverPid: server.pid, workDir })
 * ```
 */
export async function runLoad(options: RunLoadOptions): Promise<LoadRun> {
  const [run] = await runPlan({ sides: [options.spec], slices: 1 }, [meterOf(options)], options.workDir, options.onStart)
  return run!
}

/**
 * Runs two or three loads in alternating slices (A B B A A B B A …, see `LoadPlan`) from one
 * worker process, and resolves with each side's figures over all its slices.
 *
 * @example
 * ```ts
 * const [a, b] = await runAlternating({ sides: [{ spec: specA, serverPid }, { spec: specB, serverPid }],
 *   slices: 5, workDir })
 * ```
 */
export function runAlternating(options: RunAlternatingOptions): Promise<LoadRun[]> {
  if (options.sides.length !== 2 && options.sides.length !== 3) throw new RangeError('runAlternating takes two or three loads')
  const plan: LoadPlan = { sides: options.sides.map((s) => s.spec), slices: options.slices }
  return runPlan(plan, options.sides.map(meterOf), options.workDir)
}
