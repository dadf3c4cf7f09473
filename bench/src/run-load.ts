/**
 * Runs one load (autocannon in its own process, see `load-worker.ts`) against a server in another
 * process, and reads that server's CPU time over the loaded interval from `/proc`.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { LoadSpec, LoadWorkerResult } from './load-worker.js'
import { readCpuSeconds } from './proc-stat.js'
import { track } from './spawn-server.js'

const WORKER = fileURLToPath(new URL('./load-worker.js', import.meta.url))

/** One load run: the worker's figures and the server's CPU time. */
export interface LoadRun extends LoadWorkerResult {
  /** Completed requests per second. */
  rps: number
  /** Server CPU time (user + system) over the run, in seconds. */
  serverCpuSeconds: number
  /** Server CPU time per completed request, in microseconds. */
  cpuUsPerRequest: number
  /** Server CPU use over the run, in percent of one core. */
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

let specCounter = 0

/**
 * Runs a load and resolves with its figures.
 *
 * @example
 * ```ts
 * const run = await runLoad({ spec: { url, connections: 50, durationSeconds: 10, method: 'GET',
 *   path: '/' }, serverPid: server.pid, workDir })
 * ```
 */
export function runLoad(options: RunLoadOptions): Promise<LoadRun> {
  const specFile = join(options.workDir, `load-${process.pid}-${specCounter++}.json`)
  writeFileSync(specFile, JSON.stringify(options.spec))
  const child = spawn(process.execPath, [WORKER, specFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  return new Promise<LoadRun>((resolve, reject) => {
    let cpuAtStart: number | undefined
    let wallAtStart = 0
    let result: LoadRun | undefined
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      let message: { event?: string; result?: LoadWorkerResult }
      try {
        message = JSON.parse(line) as typeof message
      } catch {
        return
      }
      if (message.event === 'start') {
        cpuAtStart = readCpuSeconds(options.serverPid)
        wallAtStart = performance.now()
        options.onStart?.()
      } else if (message.event === 'done' && message.result && cpuAtStart !== undefined) {
        const cpu = readCpuSeconds(options.serverPid) - cpuAtStart
        const wallSeconds = (performance.now() - wallAtStart) / 1000
        const r = message.result
        result = {
          ...r,
          rps: r.durationSeconds > 0 ? r.requests / r.durationSeconds : 0,
          serverCpuSeconds: cpu,
          cpuUsPerRequest: r.requests > 0 ? (cpu * 1e6) / r.requests : NaN,
          serverCpuPercent: wallSeconds > 0 ? (cpu / wallSeconds) * 100 : NaN,
        }
      }
    })
    child.once('error', reject)
    child.once('close', (code) => {
      if (result && code === 0) resolve(result)
      else reject(new Error(`load worker failed (exit ${code}): ${stderr.trim() || 'no result'}`))
    })
  })
}
