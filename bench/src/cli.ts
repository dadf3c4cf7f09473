#!/usr/bin/env node
/**
 * `eyepop-bench`: runs the benchmarks of issue 6 (`run`, the default), the soak run (`soak`), the
 * PostgreSQL benchmark of issue 16 (`postgres`), prints a Markdown report of a results file
 * (`report`), or summarizes a CPU profile (`profile`).
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, InvalidArgumentError, Option } from 'commander'
import { createPostgresStore } from '@eyepop/auth-core/postgres'
import { formatReport } from './report.js'
import { measureKeyLookup, openSqliteLookupStore, type LookupStore } from './measure-lookup.js'
import { formatPostgresReport } from './postgres-report.js'
import { readProcessTreeCpuSeconds } from './proc-stat.js'
import { runBench, seedStore, uptime, type BenchResult, type LoadTiming } from './run-bench.js'
import { runPostgresBench, startBenchPostgres, type BenchPostgres, type PostgresBenchResult } from './run-postgres.js'
import { runSoak, type SoakResult } from './run-soak.js'
import { SCENARIOS, type ScenarioName } from './scenarios.js'
import { formatSoakReport } from './soak-report.js'
import { killAllSpawned } from './spawn-server.js'
import { formatProfileSummary, summarizeProfile } from './summarize-profile.js'

/** Where results go by default: `bench/results/` (git-ignored). */
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url))

function number(min: number, integer: boolean) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`must be ${integer ? 'an integer' : 'a number'} of at least ${min}`)
    }
    return n
  }
}

function atMost(max: number, parse: (value: string) => number) {
  return (value: string): number => {
    const n = parse(value)
    if (n > max) throw new InvalidArgumentError(`must be at most ${max}`)
    return n
  }
}

function fraction(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError('must be a number above 0 and at most 1')
  return n
}

/** Writes a results file (default: `bench/results/<prefix><timestamp>.json`) and returns its path. */
function writeResults(file: string | undefined, prefix: string, startedAt: string, result: object): string {
  const path = resolve(file ?? `${RESULTS_DIR}${prefix}${startedAt.replace(/[:.]/g, '-')}.json`)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`)
  return path
}

function scenarioList(value: string): ScenarioName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n))
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(`must be a comma-separated list of ${SCENARIOS.join(', ')}`)
  }
  return names as ScenarioName[]
}

/**
 * The timing options that `run` and `postgres` share (the length of a load run, the rounds, the
 * warm-ups, the slices), added to `command`; `groupWord` names what a slice alternates within.
 */
function withTimingOptions(command: Command, groupWord: string): Command {
  return command
    .addOption(new Option('--duration <seconds>', 'seconds per load run').argParser(number(0.1, false)).default(5))
    .addOption(new Option('--rounds <n>', 'interleaved rounds (every figure is a median over them)').argParser(number(1, true)).default(5))
    .addOption(new Option('--warmup <seconds>', 'unrecorded load per measurement before the first round').argParser(number(0, false)).default(2))
    .addOption(new Option('--run-warmup <seconds>', `unrecorded load just before every recorded ${groupWord}`).argParser(number(0, false)).default(1))
    .addOption(new Option('--slice <seconds>', `the measurements of a ${groupWord} run in alternating slices of this length`).argParser(number(0.1, false)).default(1))
}

/** The timing of {@link withTimingOptions}'s options, as `runBench` and `runPostgresBench` take it. */
function timingOf(opts: Record<string, number>): LoadTiming {
  return {
    durationSeconds: opts.duration!,
    rounds: opts.rounds!,
    warmupSeconds: opts.warmup!,
    runWarmupSeconds: opts.runWarmup!,
    sliceSeconds: opts.slice!,
  }
}

const program = new Command('eyepop-bench').description('Benchmarks of the EyePop emulator (issue 6)').showHelpAfterError()

withTimingOptions(
  program
    .command('run', { isDefault: true })
    .description('run the benchmarks and write a JSON file of results'),
  'pair',
)
  .addOption(new Option('--connections <n>', 'concurrent connections per load run').argParser(number(1, true)).default(50))
  .addOption(new Option('--scenarios <list>', `comma-separated: ${SCENARIOS.join(',')}`).argParser(scenarioList).default([...SCENARIOS], 'all'))
  .addOption(new Option('--json <file>', 'results file (default: bench/results/<timestamp>.json)'))
  .addOption(new Option('--scale-keys <n>', 'keys in the large store of the scale scenario').argParser(number(11, true)).default(100_000))
  .addOption(new Option('--startup-runs <n>', 'start-up measurements').argParser(number(1, true)).default(5))
  .addOption(new Option('--cpu-prof <dir>', 'run the emulators and the resource server under node --cpu-prof, writing profiles to DIR'))
  .action(async (opts) => {
    const log = (line: string) => console.log(line)
    log(uptime())
    const result = await runBench({
      ...timingOf(opts),
      connections: opts.connections,
      scenarios: opts.scenarios,
      scaleKeys: opts.scaleKeys,
      startupRuns: opts.startupRuns,
      ...(opts.cpuProf && { cpuProfDir: resolve(opts.cpuProf as string) }),
      log,
    })
    log('')
    log(formatReport(result))
    log('')
    log(uptime())
    log(`results: ${writeResults(opts.json, '', result.startedAt, result)}`)
    for (const profile of result.cpuProfiles ?? []) log(`cpu profile: ${profile}`)
  })

program
  .command('soak')
  .description('the soak run: the mix of traffic at a fraction of its maximum for a minute; exits 1 on any error')
  .addOption(new Option('--duration <seconds>', 'seconds of the soak').argParser(number(1, false)).default(60).env('SOAK_SECONDS'))
  .addOption(new Option('--max-seconds <seconds>', 'seconds of unthrottled load whose rate is the maximum').argParser(number(1, false)).default(10))
  .addOption(new Option('--warmup <seconds>', 'unrecorded, unthrottled load before the maximum').argParser(number(0, false)).default(2))
  .addOption(new Option('--fraction <f>', 'the soak\'s share of the maximum').argParser(fraction).default(0.7))
  .addOption(new Option('--rate <n>', 'requests per second instead of a share of a measured maximum').argParser(number(1, true)))
  .addOption(new Option('--connections <n>', 'concurrent HTTP connections').argParser(number(1, true)).default(50))
  .addOption(new Option('--websockets <n>', 'WebSockets kept open on /data/events (at most 12: 16 per account, 2 reconnecting)').argParser(atMost(12, number(0, true))).default(8))
  .addOption(new Option('--reconnect-every <seconds>', 'how often two WebSockets are closed and opened again').argParser(number(1, false)).default(5))
  .addOption(new Option('--keys <n>', 'API keys in the seeded store').argParser(number(20, true)).default(1000))
  .addOption(new Option('--rss-from <seconds>', 'RSS growth is counted from this second of the soak').argParser(number(0, false)).default(10))
  .addOption(new Option('--json <file>', 'results file (default: bench/results/soak-<timestamp>.json)'))
  .addOption(new Option('--cpu-prof <dir>', 'run the emulator under node --cpu-prof, writing DIR/emulator-soak.cpuprofile'))
  .action(async (opts) => {
    // Every token the soak holds (the signed-in user's too) lives an hour.
    if (opts.warmup + opts.maxSeconds + opts.duration > 3000) program.error('error: the whole soak (warm-up, maximum, soak) must stay under 3,000 s')
    const log = (line: string) => console.log(line)
    log(uptime())
    const result = await runSoak({
      soakSeconds: opts.duration,
      maxSeconds: opts.maxSeconds,
      warmupSeconds: opts.warmup,
      fraction: opts.fraction,
      ...(opts.rate !== undefined && { rate: opts.rate }),
      connections: opts.connections,
      websockets: opts.websockets,
      reconnectEverySeconds: opts.reconnectEvery,
      reconnectCount: Math.min(2, opts.websockets),
      keys: opts.keys,
      rssFromSeconds: opts.rssFrom,
      ...(opts.cpuProf && { cpuProfDir: resolve(opts.cpuProf as string) }),
      log,
    })
    log('')
    log(formatSoakReport(result))
    log('')
    log(uptime())
    log(`results: ${writeResults(opts.json, 'soak-', result.startedAt, result)}`)
    if (result.errors > 0) {
      console.error(`error: the soak saw ${result.errors} errors`)
      process.exitCode = 1
    }
  })

withTimingOptions(
  program
    .command('postgres')
    .description('issuance and the Pop route on PostgreSQL against SQLite, one and two instances, and 100,000 keys against 10, in one run (issue 16)'),
  'group',
)
  .addOption(new Option('--connections <n>', 'concurrent connections per load run (split between two instances)').argParser(number(2, true)).default(50))
  .addOption(new Option('--keys <n>', 'keys in the SQLite store and the main database').argParser(number(100, true)).default(1000))
  .addOption(new Option('--scale-keys <n>', 'keys in the large database (against 10)').argParser(number(11, true)).default(100_000))
  .addOption(new Option('--json <file>', 'results file (default: bench/results/postgres-<timestamp>.json)'))
  .addOption(new Option('--cpu-prof <dir>', 'run the emulators under node --cpu-prof, writing profiles to DIR'))
  .action(async (opts) => {
    const log = (line: string) => console.log(line)
    log(uptime())
    const result = await runPostgresBench({
      ...timingOf(opts),
      connections: opts.connections,
      keys: opts.keys,
      scaleKeys: opts.scaleKeys,
      ...(opts.cpuProf && { cpuProfDir: resolve(opts.cpuProf as string) }),
      log,
    })
    log('')
    log(formatPostgresReport(result))
    log('')
    log(uptime())
    log(`results: ${writeResults(opts.json, 'postgres-', result.startedAt, result)}`)
    for (const profile of result.cpuProfiles ?? []) log(`cpu profile: ${profile}`)
  })

program
  .command('report')
  .description('print the tables of a results file (of a run, a soak or a PostgreSQL run) as Markdown')
  .argument('<file>', 'a results JSON file')
  .action((file: string) => {
    const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult | SoakResult | PostgresBenchResult
    if ('kind' in result) console.log(formatPostgresReport(result, { markdown: true }))
    else console.log('phases' in result ? formatSoakReport(result, { markdown: true }) : formatReport(result, { markdown: true }))
  })

program
  .command('lookup')
  .description("the key lookup alone, in this process: a store of many keys against one of 10 (scenario 5's cost without HTTP), on SQLite or PostgreSQL")
  .addOption(new Option('--keys <n>', 'keys in the large store').argParser(number(11, true)).default(100_000))
  .addOption(new Option('--rounds <n>', 'interleaved rounds').argParser(number(1, true)).default(10))
  .addOption(new Option('--lookups <n>', 'lookups per store per round').argParser(number(1, true)).default(100_000))
  .addOption(new Option('--concurrency <n>', 'lookups asked for at once').argParser(number(1, true)).default(1))
  .addOption(new Option('--postgres', 'on auth-core\'s PostgreSQL store (a throwaway server, a pool of 10 over TCP), timing the server\'s processes too'))
  .action(async (opts) => {
    const dir = mkdtempSync(join(tmpdir(), 'eyepop-bench-lookup-'))
    const stores: LookupStore[] = []
    let postgres: BenchPostgres | undefined
    try {
      console.log(`seeding ${opts.keys.toLocaleString('en')} keys and 10 keys`)
      if (opts.postgres) {
        postgres = await startBenchPostgres()
        const { server, postmaster } = postgres
        for (const [name, keys] of [['large', opts.keys], ['ten', 10]] as const) {
          const database = await server.createDatabase()
          await seedStore(join(dir, name), keys, join(dir, `${name}.json`), server.url(database, { socket: true }))
          const hashes = (await server.sql(database, 'SELECT hash FROM api_keys ORDER BY id')).rows.map((row) => String(row.hash))
          const store = await createPostgresStore({ connectionString: server.url(database) })
          stores.push({ store, hashes, serverCpu: () => readProcessTreeCpuSeconds(postmaster) })
        }
      } else {
        for (const [name, keys] of [['large', opts.keys], ['ten', 10]] as const) {
          await seedStore(join(dir, name), keys, join(dir, `${name}.json`))
          stores.push(openSqliteLookupStore(join(dir, name)))
        }
      }
      const [large, ten] = stores as [LookupStore, LookupStore]
      const r = await measureKeyLookup({ large, ten, rounds: opts.rounds, lookups: opts.lookups, concurrency: opts.concurrency })
      const us = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ')
      const where = postgres ? postgres.version.split(' on ')[0]! : 'SQLite'
      console.log(`findByHash on ${where}, every key in turn, ${opts.concurrency} at a time, µs of CPU per lookup over ${opts.rounds} interleaved rounds of ${opts.lookups.toLocaleString('en')}:`)
      console.log(`  ${r.keys.large.toLocaleString('en')} keys: median ${r.medianLargeUs.toFixed(2)} (${us(r.largeUs)})`)
      console.log(`  ${r.keys.ten} keys: median ${r.medianTenUs.toFixed(2)} (${us(r.tenUs)})`)
      console.log(`  large / 10, round by round: median ${(r.ratio * 100).toFixed(0)}%`)
      if (r.server) {
        console.log('the PostgreSQL server\'s processes, µs of CPU per lookup:')
        console.log(`  ${r.keys.large.toLocaleString('en')} keys: median ${r.server.medianLargeUs.toFixed(2)} (${us(r.server.largeUs)})`)
        console.log(`  ${r.keys.ten} keys: median ${r.server.medianTenUs.toFixed(2)} (${us(r.server.tenUs)})`)
        console.log(`  large / 10, round by round: median ${(r.server.ratio * 100).toFixed(0)}%`)
      }
    } finally {
      for (const { store } of stores) await store.close()
      await postgres?.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

program
  .command('profile')
  .description('summarize a .cpuprofile: self time by package and by function')
  .argument('<file>', 'a .cpuprofile file')
  .addOption(new Option('--top <n>', 'functions to list').argParser(number(1, true)).default(25))
  .action((file: string, opts) => {
    console.log(formatProfileSummary(summarizeProfile(file, opts.top)))
  })

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllSpawned()
    process.exit(130)
  })
}

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`error: ${(err as Error)?.stack ?? String(err)}`)
  killAllSpawned()
  process.exitCode = 1
})
