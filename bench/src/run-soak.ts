/**
 * The soak run: seeds a store, starts the emulator in its own process (through its CLI, as the
 * benchmarks do) with one more account whose keys the dashboard API traffic manages, signs that
 * user in, and runs the soak process (`soak-worker.ts`): the mix unthrottled to find its maximum,
 * then at a fraction of it (0.7) for a minute, while the server's RSS and CPU time are read from
 * `/proc` every second. Errors are counted, not tolerated; RSS is recorded, not asserted.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { httpJson } from './http-request.js'
import { EMULATOR_READY, emulatorStartArgs, serverEnv } from './launch.js'
import { readCpuSeconds, readMemory } from './proc-stat.js'
import { machineInfo, seedStore, type MachineInfo } from './run-bench.js'
import { signInUser } from './sign-in-user.js'
import {
  phaseErrors,
  rssGrowth,
  soakKeyLimits,
  type ResourceSample,
  type RssGrowth,
  type SoakPhaseName,
  type SoakPhaseResult,
  type SoakPlan,
} from './soak-plan.js'
import { killAllSpawned, spawnServer, track, type ServerProcess } from './spawn-server.js'

const WORKER = fileURLToPath(new URL('./soak-worker.js', import.meta.url))

/** The server's resident memory, whole and split, in MB to one decimal. */
function memoryOf(pid: number): Pick<ResourceSample, 'rssMb' | 'anonMb' | 'fileMb'> {
  const { rssMb, anonMb, fileMb } = readMemory(pid)
  const mb = (x: number) => Math.round(x * 10) / 10
  return { rssMb: mb(rssMb), anonMb: mb(anonMb), fileMb: mb(fileMb) }
}

/** Seeded keys kept for the WebSockets' tokens (the mix uses the others). */
const SOCKET_KEYS = 10

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Seconds of the soak itself (at `fraction` of the maximum). */
  soakSeconds: number
  /** Seconds of unthrottled load whose rate is the maximum. */
  maxSeconds: number
  /** Seconds of unrecorded, unthrottled load before the maximum (0: none). */
  warmupSeconds: number
  /** The soak's share of the maximum. */
  fraction: number
  /** A fixed rate (requests per second) instead of a measured maximum. */
  rate?: number
  connections: number
  /** WebSockets kept open on `/data/events`. */
  websockets: number
  /** Every this many seconds, `reconnectCount` sockets are closed and opened again. */
  reconnectEverySeconds: number
  reconnectCount: number
  /** API keys in the seeded store (the last 10 mint the sockets' tokens). */
  keys: number
  /** RSS growth is counted from the first sample after this many seconds of the soak. */
  rssFromSeconds: number
  /** Run the emulator under `node --cpu-prof`, writing `emulator-soak.cpuprofile` here. */
  cpuProfDir?: string
  log: (line: string) => void
}

/** Everything a soak measured. */
export interface SoakResult {
  startedAt: string
  finishedAt: string
  options: Omit<SoakOptions, 'log'>
  machine: MachineInfo
  /** How long seeding the store took (in milliseconds). */
  seedMs: number
  /** Every phase's figures: the warm-up (if any), the maximum (unless a rate was given), the soak. */
  phases: SoakPhaseResult[]
  /** The server's RSS and CPU, every second of every phase. */
  samples: ResourceSample[]
  /** The soak's RSS growth after its first `rssFromSeconds` (absent if it was not longer). */
  rssGrowth?: RssGrowth
  /** The server's peak RSS (VmHWM) over the whole run, in MB. */
  peakRssMb: number
  /** The server's CPU use over each phase, in percent of one core. */
  serverCpuPercent: Partial<Record<SoakPhaseName, number>>
  /** Errors over every phase (unexpected statuses, network errors, WebSocket errors): must be 0. */
  errors: number
}

/** Samples a process's RSS and CPU every second while a phase runs. */
function createSampler(pid: number, samples: ResourceSample[], log: (line: string) => void) {
  let current:
    | { phase: SoakPhaseName; startedAt: number; lastAt: number; lastCpu: number; firstCpu: number; sampled: boolean; logged: number; timer: NodeJS.Timeout }
    | undefined
  const take = () => {
    if (!current) return
    const at = performance.now()
    const cpu = readCpuSeconds(pid)
    const t = (at - current.startedAt) / 1000
    const first = !current.sampled
    current.sampled = true
    const sample: ResourceSample = {
      phase: current.phase,
      t: Math.round(t * 1000) / 1000,
      ...memoryOf(pid),
      cpuPercent: first ? null : Math.round(((cpu - current.lastCpu) / ((at - current.lastAt) / 1000)) * 1000) / 10,
    }
    samples.push(sample)
    current.lastAt = at
    current.lastCpu = cpu
    const second = Math.round(t)
    if (current.phase !== 'warmup' && second % 10 === 0 && second > current.logged) {
      current.logged = second
      log(`  ${current.phase} ${Math.round(t)} s: RSS ${sample.rssMb.toFixed(1)} MB (anonymous ${sample.anonMb?.toFixed(1)}, file-backed ${sample.fileMb?.toFixed(1)}), CPU ${sample.cpuPercent?.toFixed(0) ?? '-'}%`)
    }
  }
  return {
    start(phase: SoakPhaseName) {
      const at = performance.now()
      const cpu = readCpuSeconds(pid)
      current = { phase, startedAt: at, lastAt: at, lastCpu: cpu, firstCpu: cpu, sampled: false, logged: 0, timer: setInterval(take, 1000) }
      take()
    },
    /** Takes the phase's last sample and stops; resolves with its CPU use in percent of one core. */
    stop(): number {
      if (!current) return NaN
      take()
      clearInterval(current.timer)
      const { startedAt, firstCpu, lastCpu, lastAt } = current
      current = undefined
      return ((lastCpu - firstCpu) / ((lastAt - startedAt) / 1000)) * 100
    },
  }
}

/** Runs the soak process and samples the server while its phases run. */
function runWorker(plan: SoakPlan, workDir: string, server: ServerProcess, samples: ResourceSample[], log: (line: string) => void) {
  const planFile = join(workDir, 'soak-plan.json')
  writeFileSync(planFile, JSON.stringify(plan), { mode: 0o600 })
  const child = spawn(process.execPath, [WORKER, planFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const sampler = createSampler(server.pid, samples, log)
  const cpuPercent = new Map<SoakPhaseName, number>()
  return new Promise<{ phases: SoakPhaseResult[]; cpuPercent: Map<SoakPhaseName, number> }>((resolve, reject) => {
    let phases: SoakPhaseResult[] | undefined
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      let message: { event?: string; phase?: SoakPhaseName; targetRps?: number; phases?: SoakPhaseResult[] }
      try {
        message = JSON.parse(line) as typeof message
      } catch {
        return
      }
      if (message.event === 'start' && message.phase) {
        const rate = message.targetRps === undefined ? 'unthrottled' : `at ${message.targetRps.toLocaleString('en')} req/s`
        log(`${message.phase}: ${rate}, ${plan.connections} connections, ${plan.websockets} WebSockets (load average ${loadavg()[0]!.toFixed(2)})`)
        sampler.start(message.phase)
      } else if (message.event === 'stop' && message.phase) {
        cpuPercent.set(message.phase, sampler.stop())
      } else if (message.event === 'done') {
        phases = message.phases
      }
    })
    child.once('error', reject)
    child.once('close', (code) => {
      sampler.stop()
      if (phases && code === 0) resolve({ phases, cpuPercent })
      else reject(new Error(`soak worker failed (exit ${code}): ${stderr.trim() || 'no result'}`))
    })
  })
}

/**
 * Runs the soak.
 *
 * @example
 * ```ts
 * const result = await runSoak({ soakSeconds: 60, maxSeconds: 10, warmupSeconds: 2, fraction: 0.7,
 *   connections: 50, websockets: 8, reconnectEverySeconds: 5, reconnectCount: 2, keys: 1000,
 *   rssFromSeconds: 10, log: console.log })
 * if (result.errors > 0) process.exitCode = 1
 * ```
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options
  const startedAt = new Date().toISOString()
  const machine = machineInfo()
  const workDir = mkdtempSync(join(tmpdir(), 'eyepop-soak-'))
  // The folder holds API keys and a password in clear: removed on any exit, Ctrl-C included.
  const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true })
  process.once('exit', removeWorkDir)
  let server: ServerProcess | undefined
  try {
    log(`seeding a store of ${options.keys.toLocaleString('en')} keys in ${workDir}`)
    const dataDir = join(workDir, 'data')
    const seed = await seedStore(dataDir, options.keys, join(workDir, 'seed.json'))
    const keys = seed.keys.map((k) => k.key)
    const keysFile = join(workDir, 'keys.json')
    writeFileSync(keysFile, JSON.stringify(keys.slice(0, -SOCKET_KEYS)), { mode: 0o600 })

    // The account whose keys the dashboard API traffic creates and deletes: its own, so that its
    // listings hold only the soak's keys, not the 1,000 seeded ones; its live-key limit lets every
    // connection hold the key it created (see soakKeyLimits).
    const manager = { email: 'soak@bench.test', password: randomBytes(18).toString('base64url'), name: 'Soak' }
    const accountsFile = join(workDir, 'accounts.json')
    writeFileSync(accountsFile, JSON.stringify([manager]), { mode: 0o600 })
    const keyLimits = soakKeyLimits(options.connections)
    server = await spawnServer({
      name: 'emulator',
      command: process.execPath,
      args: [
        ...(options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir, '--cpu-prof-name', 'emulator-soak.cpuprofile'] : []),
        ...emulatorStartArgs(dataDir),
        '--accounts',
        accountsFile,
        '--max-keys-per-account',
        String(keyLimits.maxKeysPerAccount),
      ],
      env: serverEnv(),
      readyPattern: EMULATOR_READY,
    })
    log(`started the emulator (pid ${server.pid}) at ${server.url}`)
    const userToken = await signInUser({ url: server.url, email: manager.email, password: manager.password })
    log(`signed ${manager.email} in (device flow)`)
    const { access_token: token } = await httpJson<{ access_token: string }>(`${server.url}/v1/auth/authenticate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${keys[0]}` },
    })
    const { pipeline_id: pipelineId } = await httpJson<{ pipeline_id: string }>(`${server.url}/pops/${seed.popId}/config`, {
      headers: { Authorization: `Bearer ${token}` },
    })

    const plan: SoakPlan = {
      url: server.url,
      popId: seed.popId,
      pipelineId,
      userToken,
      keysFile,
      socketKeys: keys.slice(-SOCKET_KEYS),
      connections: options.connections,
      websockets: options.websockets,
      reconnectEverySeconds: options.reconnectEverySeconds,
      reconnectCount: options.reconnectCount,
      warmupSeconds: options.warmupSeconds,
      maxSeconds: options.maxSeconds,
      soakSeconds: options.soakSeconds,
      fraction: options.fraction,
      ...(options.rate !== undefined && { rate: options.rate }),
      liveKeysCap: keyLimits.liveCap,
    }
    const samples: ResourceSample[] = []
    const { phases, cpuPercent } = await runWorker(plan, workDir, server, samples, log)
    const peakRssMb = Math.round(readMemory(server.pid).peakRssMb * 10) / 10
    await server.stop()
    machine.loadAverageEnd = loadavg()
    const growth = rssGrowth(samples, 'soak', options.rssFromSeconds)
    const { log: _log, ...recorded } = options
    return {
      startedAt,
      finishedAt: new Date().toISOString(),
      options: recorded,
      machine,
      seedMs: seed.seedMs,
      phases,
      samples,
      ...(growth && { rssGrowth: growth }),
      peakRssMb,
      serverCpuPercent: Object.fromEntries(cpuPercent),
      errors: phases.reduce((n, p) => n + phaseErrors(p), 0),
    }
  } finally {
    await server?.stop().catch(() => undefined)
    killAllSpawned()
    removeWorkDir()
    process.off('exit', removeWorkDir)
  }
}
