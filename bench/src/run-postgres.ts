/**
 * The PostgreSQL benchmark (issue 16): in one run, a throwaway PostgreSQL server, the emulator on
 * SQLite (one instance) and on PostgreSQL (one instance, two instances on one database, and one
 * instance on each of a 100,000-key and a 10-key database), issuance and the Pop route loaded on
 * each in interleaved rounds, and the CPU time of the emulators and of every PostgreSQL process
 * read from `/proc`, so that the figures say where a request's time goes.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { startPostgresServer, type PostgresServer } from '@eyepop/real-sdks/testing/postgres-server'
import { httpJson } from './http-request.js'
import { startEmulator } from './launch.js'
import type { LoadSpec } from './load-plan.js'
import { readCpuSeconds, readParentPid, readProcessTreeCpuSeconds } from './proc-stat.js'
import { machineInfo, seedStore, type LoadTiming, type MachineInfo } from './run-bench.js'
import { runAlternating, runLoad, type CpuMeter, type LoadRun } from './run-load.js'
import { killAllSpawned, type ServerProcess } from './spawn-server.js'

/** The configurations measured: a store and how many emulators serve it. */
export const POSTGRES_CONFIGS = ['sqlite-1', 'postgres-1', 'postgres-2', 'postgres-large', 'postgres-10'] as const

/** One of {@link POSTGRES_CONFIGS}. */
export type PostgresConfigName = (typeof POSTGRES_CONFIGS)[number]

/** What each configuration is, for the report. */
export const POSTGRES_CONFIG_LABEL: Record<PostgresConfigName, string> = {
  'sqlite-1': 'SQLite, 1 instance',
  'postgres-1': 'PostgreSQL, 1 instance',
  'postgres-2': 'PostgreSQL, 2 instances (half the connections each)',
  'postgres-large': 'PostgreSQL, 1 instance',
  'postgres-10': 'PostgreSQL, 1 instance',
}

/** The two requests: an API key exchanged for a token, and an authenticated Pop request. */
export type PostgresScenario = 'issuance' | 'pop'

/** A load measurement: one request on one configuration. */
export interface PostgresMeasurement {
  id: string
  scenario: PostgresScenario
  config: PostgresConfigName
  label: string
}

/** Options of {@link runPostgresBench}. */
export interface PostgresBenchOptions extends LoadTiming {
  /** Concurrent connections per load run (split evenly between two instances). */
  connections: number
  /** Keys in the large database (against 10). */
  scaleKeys: number
  /** Keys in the SQLite store and the main database (issuance uses every one in turn). */
  keys: number
  /** Run the emulators under `node --cpu-prof`, writing `emulator-<instance>.cpuprofile` here. */
  cpuProfDir?: string
  log: (line: string) => void
}

/** One recorded load run. */
export interface PostgresRunRecord {
  round: number
  measurementId: string
  /** Its CPU time by part: `emulator` (every instance of its configuration) and, on PostgreSQL, `postgres`. */
  run: LoadRun
  /** The 1-minute load average when its group started. */
  loadAverage: number
}

/** Everything a PostgreSQL run measured. */
export interface PostgresBenchResult {
  kind: 'postgres'
  startedAt: string
  finishedAt: string
  options: Omit<PostgresBenchOptions, 'log'>
  machine: MachineInfo
  /** The server's `version()`, and the settings it ran with that differ from a production server's. */
  postgres: { version: string; settings: string[] }
  /**
   * PostgreSQL's CPU use with every emulator started and none loaded, in percent of one core over
   * `seconds`: the instances' revocation polls (`instances` of them), a cost per instance, not per request.
   */
  idle: { seconds: number; postgresCpuPercent: number; instances: number }
  measurements: PostgresMeasurement[]
  /** The groups a round runs, each in alternating slices (odd rounds in reverse). */
  groups: string[][]
  runs: PostgresRunRecord[]
  /** How long seeding took, per store (in milliseconds). */
  seedMs: Record<string, number>
  /** The CPU profiles written, with `cpuProfDir`. */
  cpuProfiles?: string[]
}

/** The stores: SQLite (its own data dir) and three databases of one PostgreSQL server. */
type StoreName = 'sqlite' | 'main' | 'large' | 'ten'

const STORE_OF: Record<PostgresConfigName, StoreName> = {
  'sqlite-1': 'sqlite',
  'postgres-1': 'main',
  'postgres-2': 'main',
  'postgres-large': 'large',
  'postgres-10': 'ten',
}

/** The measurements and the groups a round runs: the configurations compared run together. */
export function postgresMeasurements(scaleKeys: number, keys: number): { measurements: PostgresMeasurement[]; groups: string[][] } {
  const n = (x: number) => x.toLocaleString('en')
  const issuance = (config: PostgresConfigName, what: string): PostgresMeasurement => ({
    id: `issuance/${config}`,
    scenario: 'issuance',
    config,
    label: `POST /v1/auth/authenticate, ${what}`,
  })
  const pop = (config: PostgresConfigName): PostgresMeasurement => ({
    id: `pop/${config}`,
    scenario: 'pop',
    config,
    label: 'GET /pops/{id}/config, 100 reused tokens',
  })
  const measurements = [
    issuance('sqlite-1', `${n(keys)} keys in turn`),
    issuance('postgres-1', `${n(keys)} keys in turn`),
    issuance('postgres-2', `${n(keys)} keys in turn`),
    pop('sqlite-1'),
    pop('postgres-1'),
    pop('postgres-2'),
    issuance('postgres-large', `${n(scaleKeys)} keys, every one in turn`),
    issuance('postgres-10', '10 keys in turn'),
  ]
  const groups = [
    ['issuance/sqlite-1', 'issuance/postgres-1', 'issuance/postgres-2'],
    ['pop/sqlite-1', 'pop/postgres-1', 'pop/postgres-2'],
    ['issuance/postgres-large', 'issuance/postgres-10'],
  ]
  return { measurements, groups }
}

/** The order of one round's groups: as declared, odd rounds in reverse (a group's sides too). */
export function postgresRoundOrder(groups: readonly (readonly string[])[], round: number): string[][] {
  const order = groups.map((g) => [...g])
  return round % 2 ? order.reverse().map((g) => g.reverse()) : order
}

/** The one issuer of every emulator of a run (see where they start). */
const ISSUER = 'http://127.0.0.1:8710'

/**
 * The settings of the throwaway server that differ from a production server's: durability, which
 * only writes pay for, and the runs write nothing (every key's last use is within the half hour,
 * and no key is created or deleted while they run).
 */
const SERVER_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off']

/** A throwaway PostgreSQL server for a measurement, and what reading its CPU time needs. */
export interface BenchPostgres {
  server: PostgresServer
  /** The postmaster's pid: with its children, every process of the server. */
  postmaster: number
  /** `SELECT version()`. */
  version: string
  /** Stops the server and removes its folder. */
  close(): Promise<void>
}

/**
 * Starts a throwaway PostgreSQL server (`@eyepop/real-sdks/testing/postgres-server`, which fails
 * where PostgreSQL is not installed) and finds its postmaster. If this process exits before
 * `close()` (Ctrl-C), the server is stopped at once (SIGQUIT, PostgreSQL's immediate shutdown)
 * and its folder removed.
 */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const server = await startPostgresServer()
  try {
    const value = async (sql: string) => Object.values((await server.sql('postgres', sql)).rows[0] ?? {})[0]
    const version = String(await value('SELECT version()'))
    const postmaster = readParentPid(Number(await value('SELECT pg_backend_pid()')))
    const folder = dirname(String(await value('SHOW data_directory')))
    const stopAtExit = () => {
      try {
        process.kill(postmaster, 'SIGQUIT')
      } catch {
        // already gone
      }
      rmSync(folder, { recursive: true, force: true })
    }
    process.once('exit', stopAtExit)
    return {
      server,
      postmaster,
      version,
      async close() {
        await server.close()
        process.off('exit', stopAtExit)
      },
    }
  } catch (err) {
    await server.close()
    throw err
  }
}

/**
 * Runs the PostgreSQL benchmark.
 *
 * @example
 * ```ts
 * const result = await runPostgresBench({ durationSeconds: 5, connections: 50, rounds: 5, warmupSeconds: 2,
 *   runWarmupSeconds: 1, sliceSeconds: 1, scaleKeys: 100_000, keys: 1000, log: console.log })
 * ```
 */
export async function runPostgresBench(options: PostgresBenchOptions): Promise<PostgresBenchResult> {
  const { log } = options
  const startedAt = new Date().toISOString()
  const machine = machineInfo()
  const workDir = mkdtempSync(join(tmpdir(), 'eyepop-bench-pg-'))
  // The folder holds API keys in clear: removed on any exit, Ctrl-C included.
  const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true })
  process.once('exit', removeWorkDir)
  const emulators = new Map<string, ServerProcess>()
  let bench: BenchPostgres | undefined
  try {
    log('starting a throwaway PostgreSQL server')
    bench = await startBenchPostgres()
    const { server: pg, postmaster, version } = bench
    log(`  ${version} on port ${pg.port}, postmaster pid ${postmaster}`)
    const databases = { main: await pg.createDatabase(), large: await pg.createDatabase(), ten: await pg.createDatabase() }

    // 1. Seed every store before its emulators start.
    const seedMs: Record<string, number> = {}
    const seeded = new Map<StoreName, { popId: string; keys: string[] }>()
    const seed = async (store: StoreName, keys: number) => {
      const dataDir = join(workDir, store)
      const url = store === 'sqlite' ? undefined : pg.url(databases[store], { socket: true })
      const result = await seedStore(dataDir, keys, join(workDir, `${store}-seed.json`), url)
      seedMs[store] = result.seedMs
      seeded.set(store, { popId: result.popId, keys: result.keys.map((k) => k.key) })
      log(`  seeded ${keys.toLocaleString('en')} keys (${store}) in ${(result.seedMs / 1000).toFixed(1)} s`)
    }
    log('seeding')
    await seed('sqlite', options.keys)
    await seed('main', options.keys)
    await seed('large', options.scaleKeys)
    await seed('ten', 10)

    // 2. The emulators, through their CLI; on PostgreSQL over TCP with the password, as in service.
    // All have one issuer, as instances behind one address have (docker-compose's profile
    // postgres: nginx at 127.0.0.1:8710), so the two on the main database accept each other's
    // tokens; the others have it too, so every token is the same size.
    log('starting emulators')
    if (options.cpuProfDir !== undefined) mkdirSync(options.cpuProfDir, { recursive: true })
    const instancesOf: Record<PostgresConfigName, string[]> = {
      'sqlite-1': ['sqlite'],
      'postgres-1': ['main-a'],
      'postgres-2': ['main-a', 'main-b'],
      'postgres-large': ['large'],
      'postgres-10': ['ten'],
    }
    const storeOfInstance: Record<string, StoreName> = { sqlite: 'sqlite', 'main-a': 'main', 'main-b': 'main', large: 'large', ten: 'ten' }
    for (const [name, store] of Object.entries(storeOfInstance)) {
      const emulator = await startEmulator({
        name: `emulator-${name}`,
        dataDir: join(workDir, store === 'sqlite' ? 'sqlite' : `${name}-dir`),
        ...(store !== 'sqlite' && { databaseUrl: pg.url(databases[store]) }),
        issuer: ISSUER,
        ...(options.cpuProfDir !== undefined && { cpuProfDir: options.cpuProfDir }),
      })
      emulators.set(name, emulator)
      log(`  started emulator-${name} (pid ${emulator.pid}) at ${emulator.url}`)
    }

    // 3. The values each load takes in turn: keys, and 100 tokens per store (those of the main
    // database minted by one instance, used on both: they share the signing keys).
    const valueFiles = new Map<string, string>()
    const writeValues = (name: string, values: string[]) => {
      const file = join(workDir, `values-${name}.json`)
      writeFileSync(file, JSON.stringify(values))
      valueFiles.set(name, file)
    }
    for (const [store, { keys }] of seeded) writeValues(`keys-${store}`, keys)
    let mainTokens: string[] = []
    for (const [store, instance] of [['sqlite', 'sqlite'], ['main', 'main-a']] as const) {
      const tokens: string[] = []
      for (const key of seeded.get(store)!.keys.slice(0, 100)) {
        const issued = await httpJson<{ access_token: string }>(`${emulators.get(instance)!.url}/v1/auth/authenticate`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}` },
        })
        tokens.push(issued.access_token)
      }
      writeValues(`tokens-${store}`, tokens)
      if (store === 'main') mainTokens = tokens
    }
    const popOnB = `${emulators.get('main-b')!.url}/pops/${seeded.get('main')!.popId}/config`
    await httpJson(popOnB, { headers: { Authorization: `Bearer ${mainTokens[0]}` } }).catch((err: unknown) => {
      throw new Error(`the second instance refused a token of the first: ${(err as Error).message}`)
    })

    // 4. PostgreSQL at rest, every emulator started.
    const idleSeconds = 3
    const idleFrom = readProcessTreeCpuSeconds(postmaster)
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000))
    const idle = {
      seconds: idleSeconds,
      postgresCpuPercent: ((readProcessTreeCpuSeconds(postmaster) - idleFrom) / idleSeconds) * 100,
      instances: [...emulators.keys()].filter((name) => storeOfInstance[name] !== 'sqlite').length,
    }
    log(`  PostgreSQL at rest: ${idle.postgresCpuPercent.toFixed(1)}% of a core (${idle.instances} emulators polling it)`)

    // 5. The rounds.
    const { measurements, groups } = postgresMeasurements(options.scaleKeys, options.keys)
    const byId = new Map(measurements.map((m) => [m.id, m]))
    const meterOf = (config: PostgresConfigName): CpuMeter => {
      const pids = instancesOf[config].map((name) => emulators.get(name)!.pid)
      const emulatorCpu = () => pids.reduce((sum, pid) => sum + readCpuSeconds(pid), 0)
      return config === 'sqlite-1'
        ? () => ({ emulator: emulatorCpu() })
        : () => ({ emulator: emulatorCpu(), postgres: readProcessTreeCpuSeconds(postmaster) })
    }
    const specOf = (m: PostgresMeasurement, durationSeconds: number, warmupSeconds: number): LoadSpec => {
      const store = STORE_OF[m.config]
      const urls = instancesOf[m.config].map((name) => emulators.get(name)!.url)
      const request =
        m.scenario === 'issuance'
          ? { method: 'POST', path: '/v1/auth/authenticate', valuesFile: valueFiles.get(`keys-${store}`)! }
          : { method: 'GET', path: `/pops/${seeded.get(store)!.popId}/config`, valuesFile: valueFiles.get(`tokens-${store}`)! }
      return {
        url: urls.length === 1 ? urls[0]! : urls,
        connections: options.connections,
        durationSeconds,
        ...(warmupSeconds > 0 && { warmupSeconds }),
        headers: { Authorization: 'Bearer {{value}}' },
        ...request,
      }
    }
    const loadGroup = async (ids: string[], durationSeconds: number, warmupSeconds: number): Promise<LoadRun[]> => {
      const group = ids.map((id) => byId.get(id)!)
      if (group.length === 1) {
        return [await runLoad({ spec: specOf(group[0]!, durationSeconds, warmupSeconds), cpu: meterOf(group[0]!.config), workDir })]
      }
      return runAlternating({
        sides: group.map((m) => ({ spec: specOf(m, durationSeconds, warmupSeconds), cpu: meterOf(m.config) })),
        slices: Math.max(1, Math.round(durationSeconds / options.sliceSeconds)),
        workDir,
      })
    }
    if (options.warmupSeconds > 0) {
      log(`warming up (${options.warmupSeconds} s per measurement)`)
      for (const m of measurements) await loadGroup([m.id], options.warmupSeconds, 0)
    }
    const runs: PostgresRunRecord[] = []
    for (let round = 0; round < options.rounds; round++) {
      log(`round ${round + 1}/${options.rounds} (load average ${loadavg()[0]!.toFixed(2)})`)
      for (const group of postgresRoundOrder(groups, round)) {
        const loadAverage = loadavg()[0]!
        const results = await loadGroup(group, options.durationSeconds, options.runWarmupSeconds)
        for (const [i, run] of results.entries()) {
          const id = group[i]!
          runs.push({ round, measurementId: id, run, loadAverage })
          const parts = Object.entries(run.cpuSecondsByPart ?? {})
            .map(([part, seconds]) => `${part} ${((seconds * 1e6) / run.requests).toFixed(0)}`)
            .join(' + ')
          const bad = run.non2xx + run.errors + run.timeouts
          log(
            `  ${id.padEnd(24)} ${run.rps.toFixed(0).padStart(6)} req/s  p50 ${run.latencyMs.p50} ms  p99 ${run.latencyMs.p99} ms  CPU µs/req ${parts}${bad ? `  (${bad} not 2xx or failed: ${JSON.stringify(run.statusCodes)})` : ''}`,
          )
        }
      }
    }

    for (const emulator of emulators.values()) await emulator.stop()
    emulators.clear()
    machine.loadAverageEnd = loadavg()
    const { log: _log, ...recorded } = options
    return {
      kind: 'postgres',
      startedAt,
      finishedAt: new Date().toISOString(),
      options: recorded,
      machine,
      postgres: { version, settings: SERVER_SETTINGS },
      idle,
      measurements,
      groups,
      runs,
      seedMs,
      ...(options.cpuProfDir !== undefined && {
        cpuProfiles: Object.keys(storeOfInstance).map((name) => join(options.cpuProfDir!, `emulator-${name}.cpuprofile`)),
      }),
    }
  } finally {
    for (const emulator of emulators.values()) await emulator.stop().catch(() => undefined)
    killAllSpawned()
    await bench?.close()
    removeWorkDir()
    process.off('exit', removeWorkDir)
  }
}
