/**
 * The benchmark run: seeds the stores, measures start-up, starts every server in its own process,
 * runs the load measurements in interleaved rounds with the two ceilings between them, measures
 * revocation under load, and returns everything the report needs.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DATABASE_FILENAME } from '@eyepop/emulator'
import { httpJson } from './http-request.js'
import { startBenchServer, startEmulator } from './launch.js'
import type { LoadSpec } from './load-plan.js'
import { setKeysLastUsed } from './keys-last-used.js'
import { measureRevocation, type RevocationResult } from './measure-revocation.js'
import { measureStartup, type StartupResult } from './measure-startup.js'
import { readMemory } from './proc-stat.js'
import { runAlternating, runLoad, type LoadRun } from './run-load.js'
import {
  BASELINES,
  COMPARISON_NEEDS,
  loadMeasurements,
  type Measurement,
  type ScenarioName,
  type ServerName,
  type ValueSet,
} from './scenarios.js'
import type { SeedFile } from './seed-store.js'
import { killAllSpawned, runNodeScript, type ServerProcess } from './spawn-server.js'
import { mean } from './stats.js'

/** How the load runs of a bench are timed (`run` and `postgres` take the same options). */
export interface LoadTiming {
  /** Seconds per load run. */
  durationSeconds: number
  rounds: number
  /** Seconds of unrecorded load per measurement before the first round (0: none). */
  warmupSeconds: number
  /**
   * Seconds of unrecorded load just before every recorded run, from the same load process (0:
   * none). Without it, the first of two measurements on one server (the resource server's pair)
   * ran on a process that had sat idle through the runs before it, and read ≈ 15 points lower
   * than when it ran second.
   */
  runWarmupSeconds: number
  /**
   * Seconds per slice when the two measurements of a pair run together: each side's recorded time
   * is cut into slices run A B B A A B B A …, so both sample the same moments of the machine.
   */
  sliceSeconds: number
}

/** Options of {@link runBench}. */
export interface BenchOptions extends LoadTiming {
  connections: number
  scenarios: ScenarioName[]
  /** Keys in the large store of the scale scenario. */
  scaleKeys: number
  startupRuns: number
  /** Run the emulators and the resource server under `node --cpu-prof`, writing profiles here. */
  cpuProfDir?: string
  log: (line: string) => void
}

/** The machine a run was taken on. */
export interface MachineInfo {
  cores: number
  model: string
  memoryGb: number
  node: string
  /** The commit measured, and whether the working tree had changes on top of it. */
  git: { commit: string; dirty: boolean } | null
  /** 1-, 5- and 15-minute load averages at the start and the end of the run. */
  loadAverageStart: number[]
  loadAverageEnd: number[]
}

/** One recorded load run, with its ratios to the ceilings next to it in the same round. */
export interface RunRecord {
  round: number
  position: number
  measurementId: string
  run: LoadRun
  /** rps over the mean of the nearest node:http ceiling runs before and after it. */
  ratioHttp: number
  /** rps over the mean of the nearest Express ceiling runs before and after it. */
  ratioExpress: number
  /** The 1-minute load average when it started. */
  loadAverage: number
  /** The keys whose stored last use was set just before the run (see `keysLastUsed`), and how long it took. */
  keysLastUsedSet?: { keys: number; ms: number }
}

/** Everything a run measured. */
export interface BenchResult {
  startedAt: string
  finishedAt: string
  options: Omit<BenchOptions, 'log'>
  machine: MachineInfo
  measurements: Measurement[]
  runs: RunRecord[]
  startup?: StartupResult
  revocation?: RevocationResult
  /** RSS (in MB) of the main emulator after every round. */
  emulatorMemory?: { rssMb: number; peakRssMb: number }
  /** How long seeding took, per store (in milliseconds). */
  seedMs: Record<string, number>
  cpuProfiles?: string[]
}

const SEEDER = fileURLToPath(new URL('./seed-store.js', import.meta.url))

/** Describes the machine. */
export function machineInfo(): MachineInfo {
  let model = cpus()[0]?.model ?? 'unknown'
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model
  } catch {
    // not Linux: keep os.cpus()
  }
  let git: MachineInfo['git'] = null
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const changes = execFileSync('git', ['status', '--porcelain', '--', 'apps', 'packages'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    git = { commit, dirty: changes.trim() !== '' }
  } catch {
    // not a git checkout
  }
  return {
    git,
    cores: cpus().length,
    model,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverageStart: loadavg(),
    loadAverageEnd: [],
  }
}

/**
 * Seeds an emulator data dir (or, with `databaseUrl`, a PostgreSQL database) with `keys` keys in
 * another process (`seed-store.ts`).
 */
export async function seedStore(dataDir: string, keys: number, out: string, databaseUrl?: string): Promise<SeedFile> {
  const where = databaseUrl === undefined ? [] : ['--database-url', databaseUrl]
  await runNodeScript([SEEDER, '--data-dir', dataDir, ...where, '--keys', String(keys), '--out', out], `seeding ${databaseUrl === undefined ? dataDir : 'a database'}`)
  return JSON.parse(readFileSync(out, 'utf8')) as SeedFile
}

/** Which measurements run: the selected scenarios' and those their comparisons need. */
function selectMeasurements(all: Measurement[], scenarios: ScenarioName[]): Measurement[] {
  const wanted = new Set(all.filter((m) => scenarios.includes(m.scenario as ScenarioName)).map((m) => m.id))
  for (const s of scenarios) for (const id of COMPARISON_NEEDS[s] ?? []) wanted.add(id)
  return all.filter((m) => wanted.has(m.id))
}

/**
 * The measurements in the groups a round runs back to back: each scenario's, two at a time, so
 * that the two sides of a comparison (protected and open, 100,000 and 10 keys) run next to each
 * other and never beside another scenario's measurement.
 */
export function pairsOf(measurements: readonly Pick<Measurement, 'id' | 'scenario'>[]): string[][] {
  const byScenario = new Map<string, string[]>()
  for (const m of measurements) byScenario.set(m.scenario, [...(byScenario.get(m.scenario) ?? []), m.id])
  const pairs: string[][] = []
  for (const ids of byScenario.values()) {
    for (let i = 0; i < ids.length; i += 2) pairs.push(ids.slice(i, i + 2))
  }
  return pairs
}

/**
 * The order of one round, as groups run one after the other: the ceilings, then a pair of
 * measurements (run together, in alternating slices), the ceilings again, and so on, so every
 * measurement has a ceiling run next to it. Odd rounds run in reverse order, a pair's sides too.
 */
export function roundOrder(pairs: readonly (readonly string[])[], round: number): string[][] {
  const order: string[][] = [['ceiling-http'], ['ceiling-express']]
  for (const pair of pairs) order.push([...pair], ['ceiling-express'], ['ceiling-http'])
  return round % 2 ? order.reverse().map((group) => group.reverse()) : order
}

/** Ratio of each run to the nearest runs of a ceiling before and after it, in its round. */
function ratioTo(records: Array<Omit<RunRecord, 'ratioHttp' | 'ratioExpress'>>, index: number, ceiling: string): number {
  const self = records[index]!
  if (self.measurementId === ceiling) return 1
  const sameRound = records.filter((r) => r.round === self.round && r.measurementId === ceiling)
  const before = sameRound.filter((r) => r.position < self.position).at(-1)
  const after = sameRound.find((r) => r.position > self.position)
  const refs = [before, after].filter((r) => r !== undefined).map((r) => r.run.rps)
  return self.run.rps / mean(refs)
}

/**
 * Runs the benchmark.
 *
 * @example
 * ```ts
 * const result = await runBench({ durationSeconds: 10, connections: 50, rounds: 3, warmupSeconds: 2,
 *   scenarios: [...SCENARIOS], scaleKeys: 100_000, startupRuns: 5, log: console.log })
 * ```
 */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const { log } = options
  const startedAt = new Date().toISOString()
  const machine = machineInfo()
  const workDir = mkdtempSync(join(tmpdir(), 'eyepop-bench-'))
  // The folder holds API keys in clear: removed on any exit, Ctrl-C included.
  const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true })
  process.once('exit', removeWorkDir)
  const servers = new Map<ServerName, ServerProcess>()
  const selected = new Set(options.scenarios)
  const seedMs: Record<string, number> = {}
  const cpuProfiles: string[] = []
  try {
    // 1. Seed the stores, each before its emulator starts.
    log(`seeding the main store (1,000 keys) in ${workDir}`)
    const mainDir = join(workDir, 'main')
    const main = await seedStore(mainDir, 1000, join(workDir, 'main-seed.json'))
    seedMs.main = main.seedMs
    const valueFiles = new Map<ValueSet, string>()
    const writeValues = (set: ValueSet, values: string[]) => {
      const file = join(workDir, `values-${set}.json`)
      writeFileSync(file, JSON.stringify(values))
      valueFiles.set(set, file)
    }
    writeValues('keys', main.keys.map((k) => k.key))
    let scaleDirs: { large: string; idle: string; ten: string } | undefined
    if (selected.has('scale')) {
      scaleDirs = { large: join(workDir, 'scale-large'), idle: join(workDir, 'scale-idle'), ten: join(workDir, 'scale-10') }
      log(`seeding the scale stores (${options.scaleKeys.toLocaleString('en')} keys and 10 keys)`)
      const large = await seedStore(scaleDirs.large, options.scaleKeys, join(workDir, 'scale-large-seed.json'))
      // The same keys (and pepper) for the all-idle measurement's emulator.
      cpSync(scaleDirs.large, scaleDirs.idle, { recursive: true })
      const ten = await seedStore(scaleDirs.ten, 10, join(workDir, 'scale-10-seed.json'))
      seedMs.scaleLarge = large.seedMs
      seedMs.scale10 = ten.seedMs
      writeValues('scale-keys', large.keys.map((k) => k.key))
      writeValues('ten-keys', ten.keys.map((k) => k.key))
      log(`  seeded ${options.scaleKeys.toLocaleString('en')} keys in ${(large.seedMs / 1000).toFixed(1)} s`)
    }

    // 2. Start-up, before anything else runs.
    let startup: StartupResult | undefined
    if (selected.has('startup')) {
      log('scenario 7: start-up')
      startup = await measureStartup({
        runs: options.startupRuns,
        dataDir: mainDir,
        key: main.keys[0]!.key,
        keysFile: valueFiles.get('keys')!,
        durationSeconds: options.durationSeconds,
        connections: options.connections,
        workDir,
        log,
      })
    }

    // 3. The servers of the selected load measurements.
    const measurements = selectMeasurements(loadMeasurements(main.popId), options.scenarios)
    const needed = new Set<ServerName>(['http', 'express', ...measurements.map((m) => m.server)])
    // Revocation is probed on the emulator and on the resource server (which learns it by polling).
    if (selected.has('revocation')) needed.add('emulator').add('resource')
    if (needed.has('resource')) needed.add('emulator')
    const profileDir = options.cpuProfDir
    if (profileDir) mkdirSync(profileDir, { recursive: true })
    const start = async (name: ServerName, starting: () => Promise<ServerProcess>) => {
      if (!needed.has(name)) return
      const server = await starting()
      servers.set(name, server)
      log(`  started ${name} (pid ${server.pid}) at ${server.url}`)
    }
    log('starting servers')
    await start('http', () => startBenchServer('http', 'bare-http'))
    await start('express', () => startBenchServer('express', 'bare-express'))
    const dataDirs = new Map<ServerName, string>()
    const emulatorOn = (name: ServerName, dataDir: string) => {
      dataDirs.set(name, dataDir)
      return startEmulator({ name, dataDir, ...(profileDir && { cpuProfDir: profileDir }) })
    }
    await start('emulator', () => emulatorOn('emulator', mainDir))
    if (scaleDirs) {
      await start('emulator-scale', () => emulatorOn('emulator-scale', scaleDirs.large))
      await start('emulator-10', () => emulatorOn('emulator-10', scaleDirs.ten))
      await start('emulator-scale-idle', () => emulatorOn('emulator-scale-idle', scaleDirs.idle))
    }
    await start('peer-rs256', () => startBenchServer('peer-rs256', 'oauth2-peer', ['--alg', 'RS256']))
    await start('peer-eddsa', () => startBenchServer('peer-eddsa', 'oauth2-peer', ['--alg', 'EdDSA']))
    const emulatorUrl = servers.get('emulator')?.url
    await start('resource', () => startBenchServer('resource', 'resource-server', ['--issuer', emulatorUrl!], profileDir))

    // 4. Reused tokens and temporary keys (from keys 0-199; the last keys are kept for revocation),
    // minted again before a run once they are 20 minutes old (they live 60 minutes).
    let mintedAt = -Infinity
    const mintReused = async () => {
      if (!emulatorUrl || performance.now() - mintedAt < 20 * 60_000) return
      const tokens: string[] = []
      const temporary: string[] = []
      for (let i = 0; i < 100; i++) {
        const issued = await httpJson<{ access_token: string }>(`${emulatorUrl}/v1/auth/authenticate`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${main.keys[i]!.key}` },
        })
        tokens.push(issued.access_token)
        const session = await httpJson<{ accessToken: string }>(`${emulatorUrl}/v1/auth/client-sessions`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${main.keys[100 + i]!.key}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ pop_id: main.popId, ttl_seconds: 3600 }),
        })
        temporary.push(session.accessToken)
      }
      writeValues('tokens', tokens)
      writeValues('temporary-keys', temporary)
      mintedAt = performance.now()
    }

    // 5. Warm-up, then the rounds.
    const byId = new Map([...BASELINES, ...measurements].map((m) => [m.id, m]))
    const specOf = (m: Measurement, durationSeconds: number, warmupSeconds = 0): LoadSpec => ({
      url: servers.get(m.server)!.url,
      connections: options.connections,
      durationSeconds,
      ...(warmupSeconds > 0 && { warmupSeconds }),
      method: m.method,
      path: m.path,
      ...(m.headers && { headers: m.headers }),
      ...(m.body !== undefined && { body: m.body }),
      ...(m.values && { valuesFile: valueFiles.get(m.values)! }),
    })
    const setLastUse = (m: Measurement) => {
      if (!m.keysLastUsed) return undefined
      const startedAt = performance.now()
      const keys = setKeysLastUsed(join(dataDirs.get(m.server)!, DATABASE_FILENAME), m.keysLastUsed)
      return { keys, ms: performance.now() - startedAt }
    }
    /** Runs one measurement, or a pair in alternating slices. */
    const loadGroup = async (group: Measurement[], durationSeconds: number, warmupSeconds = 0) => {
      await mintReused()
      const keysLastUsedSet = group.map(setLastUse)
      const pidOf = (m: Measurement) => servers.get(m.server)!.pid
      const runs =
        group.length === 1
          ? [await runLoad({ spec: specOf(group[0]!, durationSeconds, warmupSeconds), serverPid: pidOf(group[0]!), workDir })]
          : await runAlternating({
              sides: group.map((m) => ({ spec: specOf(m, durationSeconds, warmupSeconds), serverPid: pidOf(m) })),
              slices: Math.max(1, Math.round(durationSeconds / options.sliceSeconds)),
              workDir,
            })
      return runs.map((run, i) => ({ run, keysLastUsedSet: keysLastUsedSet[i] }))
    }
    if (options.warmupSeconds > 0) {
      log(`warming up (${options.warmupSeconds} s per measurement)`)
      for (const m of [...BASELINES, ...measurements]) await loadGroup([m], options.warmupSeconds)
    }
    const pairs = pairsOf(measurements)
    const raw: Array<Omit<RunRecord, 'ratioHttp' | 'ratioExpress'>> = []
    for (let round = 0; round < options.rounds; round++) {
      const order = roundOrder(pairs, round)
      log(`round ${round + 1}/${options.rounds} (${order.flat().length} runs of ${options.durationSeconds} s after ${options.runWarmupSeconds} s unrecorded, load average ${loadavg()[0]!.toFixed(2)})`)
      let position = 0
      for (const group of order) {
        const loadAverage = loadavg()[0]!
        const results = await loadGroup(group.map((id) => byId.get(id)!), options.durationSeconds, options.runWarmupSeconds)
        for (const [i, { run, keysLastUsedSet }] of results.entries()) {
          const id = group[i]!
          raw.push({ round, position: position++, measurementId: id, run, loadAverage, ...(keysLastUsedSet && { keysLastUsedSet }) })
          const bad = run.non2xx + run.errors + run.timeouts
          log(
            `  ${id.padEnd(18)} ${run.rps.toFixed(0).padStart(6)} req/s  p50 ${run.latencyMs.p50} ms  p99 ${run.latencyMs.p99} ms  ${run.cpuUsPerRequest.toFixed(0)} µs CPU/req${run.sliceRps.length > 1 ? `  slices ${run.sliceRps.join(' ')}` : ''}${keysLastUsedSet ? `  (last use set on ${keysLastUsedSet.keys} keys in ${keysLastUsedSet.ms.toFixed(0)} ms before it)` : ''}${bad ? `  (${bad} not 2xx or failed: ${JSON.stringify(run.statusCodes)})` : ''}`,
          )
        }
      }
    }
    const runs: RunRecord[] = raw.map((r, i) => ({
      ...r,
      ratioHttp: ratioTo(raw, i, 'ceiling-http'),
      ratioExpress: ratioTo(raw, i, 'ceiling-express'),
    }))
    const emulator = servers.get('emulator')
    const emulatorMemory = emulator ? readMemory(emulator.pid) : undefined

    // 6. Revocation under load, last: it deletes keys.
    let revocation: RevocationResult | undefined
    if (selected.has('revocation') && emulator) {
      log('scenario 8: revocation under load')
      await mintReused()
      revocation = await measureRevocation({
        trials: Math.min(Math.max(options.rounds, 1), 10),
        emulator,
        ...(servers.has('resource') && { resource: servers.get('resource')! }),
        dataDir: mainDir,
        popId: main.popId,
        keys: main.keys.slice(-10).reverse(),
        tokensFile: valueFiles.get('tokens')!,
        durationSeconds: options.durationSeconds,
        connections: options.connections,
        workDir,
        log,
      })
    }

    for (const server of servers.values()) await server.stop()
    servers.clear()
    if (profileDir) {
      for (const name of ['emulator', 'emulator-scale', 'emulator-10', 'emulator-scale-idle', 'resource']) {
        if (needed.has(name as ServerName)) cpuProfiles.push(join(profileDir, `${name}.cpuprofile`))
      }
    }
    machine.loadAverageEnd = loadavg()
    const { log: _log, ...recorded } = options
    return {
      startedAt,
      finishedAt: new Date().toISOString(),
      options: recorded,
      machine,
      measurements: [...BASELINES, ...measurements],
      runs,
      ...(startup && { startup }),
      ...(revocation && { revocation }),
      ...(emulatorMemory && { emulatorMemory }),
      seedMs,
      ...(cpuProfiles.length > 0 && { cpuProfiles }),
    }
  } finally {
    for (const server of servers.values()) await server.stop().catch(() => undefined)
    killAllSpawned()
    removeWorkDir()
    process.off('exit', removeWorkDir)
  }
}

/** `uptime`'s one-line summary, for the log. */
export function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return `load average: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`
  }
}
