/**
 * Scenario 7: start-up. From process spawn to the first successful token on the emulator, against
 * `node -e 0` (spawn to exit) and a bare `node:http` server (spawn to its first 200), interleaved
 * run by run; then the emulator's resident memory idle and after a load.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { httpJson, httpRequest } from './http-request.js'
import { startBenchServer, startEmulator } from './launch.js'
import { readMemory } from './proc-stat.js'
import { runLoad, type LoadRun } from './run-load.js'
import type { LoadSpec } from './load-plan.js'
import { track } from './spawn-server.js'
import { median } from './stats.js'

/** One start-up run (milliseconds from spawn). */
export interface StartupRun {
  nodeExitMs: number
  httpFirstResponseMs: number
  emulatorListeningMs: number
  emulatorFirstTokenMs: number
}

/** What scenario 7 measured. */
export interface StartupResult {
  runs: StartupRun[]
  median: StartupRun
  /** RSS (in MB) one second after the first token. */
  idleRssMb: number
  /** RSS and peak RSS (in MB) after the load. */
  afterLoadRssMb: number
  afterLoadPeakRssMb: number
  /** The load that preceded the after-load reading. */
  load: Pick<LoadRun, 'rps' | 'requests' | 'non2xx' | 'durationSeconds'>
}

/** Options of {@link measureStartup}. */
export interface MeasureStartupOptions {
  runs: number
  /** A seeded data dir; the emulator is started on it each run (a restart, not a first start). */
  dataDir: string
  /** An API key of that store, for the first token. */
  key: string
  /** The rotating keys file and spec of the load before the after-load memory reading. */
  keysFile: string
  durationSeconds: number
  connections: number
  workDir: string
  log: (line: string) => void
}

async function timeNodeExit(): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' })
  track(child)
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', () => resolve())
  })
  return performance.now() - started
}

async function timeHttpStart(): Promise<number> {
  const started = performance.now()
  const server = await startBenchServer('startup-http', 'bare-http')
  try {
    const answer = await httpRequest(`${server.url}/`)
    if (answer.status !== 200) throw new Error(`bare http answered ${answer.status}`)
    return performance.now() - started
  } finally {
    await server.stop()
  }
}

/** Measures start-up and memory (see the module comment). */
export async function measureStartup(options: MeasureStartupOptions): Promise<StartupResult> {
  const runs: StartupRun[] = []
  let idleRssMb = NaN
  let afterLoadRssMb = NaN
  let afterLoadPeakRssMb = NaN
  let load: StartupResult['load'] = { rps: NaN, requests: 0, non2xx: 0, durationSeconds: 0 }
  for (let i = 0; i < options.runs; i++) {
    const nodeExitMs = await timeNodeExit()
    const httpFirstResponseMs = await timeHttpStart()
    const started = performance.now()
    const emulator = await startEmulator({ name: 'startup-emulator', dataDir: options.dataDir })
    try {
      await httpJson(`${emulator.url}/v1/auth/authenticate`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${options.key}` },
      })
      const run: StartupRun = {
        nodeExitMs,
        httpFirstResponseMs,
        emulatorListeningMs: emulator.readyAt - started,
        emulatorFirstTokenMs: performance.now() - started,
      }
      runs.push(run)
      options.log(
        `  start-up run ${i + 1}/${options.runs}: node -e 0 ${nodeExitMs.toFixed(0)} ms, node:http ${httpFirstResponseMs.toFixed(0)} ms, emulator first token ${run.emulatorFirstTokenMs.toFixed(0)} ms`,
      )
      if (i === options.runs - 1) {
        await sleep(1000)
        idleRssMb = readMemory(emulator.pid).rssMb
        const spec: LoadSpec = {
          url: emulator.url,
          connections: options.connections,
          durationSeconds: options.durationSeconds,
          method: 'POST',
          path: '/v1/auth/authenticate',
          headers: { Authorization: 'Bearer {{value}}' },
          valuesFile: options.keysFile,
        }
        const result = await runLoad({ spec, serverPid: emulator.pid, workDir: options.workDir })
        load = { rps: result.rps, requests: result.requests, non2xx: result.non2xx, durationSeconds: result.durationSeconds }
        const memory = readMemory(emulator.pid)
        afterLoadRssMb = memory.rssMb
        afterLoadPeakRssMb = memory.peakRssMb
      }
    } finally {
      await emulator.stop()
    }
  }
  return {
    runs,
    median: {
      nodeExitMs: median(runs.map((r) => r.nodeExitMs)),
      httpFirstResponseMs: median(runs.map((r) => r.httpFirstResponseMs)),
      emulatorListeningMs: median(runs.map((r) => r.emulatorListeningMs)),
      emulatorFirstTokenMs: median(runs.map((r) => r.emulatorFirstTokenMs)),
    },
    idleRssMb,
    afterLoadRssMb,
    afterLoadPeakRssMb,
    load,
  }
}
