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

/** One load: the worker's figures and the server's CPU time. */
export interface LoadRun extends LoadWorkerResult {
  /** Completed requests per second. */
  rps: number
  /** Server CPU time (user + system) over the recorded time, in seconds. */
  serverCpuSeconds: number
  /** Server CPU time per completed request, in microseconds. */
  cpuUsPerRequest: number
  /** Server CPU use over the recorded time, in percent of one core. */
  serverCpuPercent: number
}

/** Options of {@link runLoad}. */
export interface RunLoadOptions {
  spec: LoadSpec
  /** The server whose CPU time is read. */
  serverPid: number
  /** A folder for the spec file. */
  workDir: string
  /** Called when the connections are open (for probes that run alongside the load). */
  onStart?: () => void
}

/** Options of {@link runAlternating}. */
export interface RunAlternatingOptions {
  /** The two loads, each with its server's pid (the same server for two routes of one process). */
  sides: ReadonlyArray<{ spec: LoadSpec; serverPid: number }>
  /** Slices per side: each side's `durationSeconds` is cut into this many runs. */
  slices: number
  workDir: string
}

let specCounter = 0

/** Runs a plan in a worker process; `onStart` is called when the first slice's connections open. */
function runPlan(plan: LoadPlan, serverPids: number[], workDir: string, onStart?: () => void): Promise<LoadRun[]> {
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
    const cpu = serverPids.map(() => 0)
    const wall = serverPids.map(() => 0)
    let open: { side: number; cpu: number; wall: number } | undefined
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
        open = { side, cpu: readCpuSeconds(serverPids[side]!), wall: performance.now() }
      } else if (message.event === 'stop' && open?.side === side) {
        cpu[side]! += readCpuSeconds(serverPids[side]!) - open.cpu
        wall[side]! += (performance.now() - open.wall) / 1000
        open = undefined
      } else if (message.event === 'done' && message.results?.length === serverPids.length) {
        runs = message.results.map((r, i) => ({
          ...r,
          rps: r.durationSeconds > 0 ? r.requests / r.durationSeconds : 0,
          serverCpuSeconds: cpu[i]!,
          cpuUsPerRequest: r.requests > 0 ? (cpu[i]! * 1e6) / r.requests : NaN,
          serverCpuPercent: wall[i]! > 0 ? (cpu[i]! / wall[i]!) * 100 : NaN,
        }))
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
  const [run] = await runPlan({ sides: [options.spec], slices: 1 }, [options.serverPid], options.workDir, options.onStart)
  return run!
}

/**
 * Runs two loads in alternating slices (A B B A A B B A …, see `LoadPlan`) from one worker
 * process, and resolves with each side's figures over all its slices.
 *
 * @example
 * ```ts
 * const [a, b] = await runAlternating({ sides: [{ spec: specA, serverPid }, { spec: specB, serverPid }],
 *   slices: 5, workDir })
 * ```
 */
export function runAlternating(options: RunAlternatingOptions): Promise<LoadRun[]> {
  if (options.sides.length !== 2) throw new RangeError('runAlternating takes two loads')
  const plan: LoadPlan = { sides: options.sides.map((s) => s.spec), slices: options.slices }
  return runPlan(plan, options.sides.map((s) => s.serverPid), options.workDir)
}
