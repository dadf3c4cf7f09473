/**
 * The key lookup alone, in one process: `findByHash` on auth-core's SQLite store, or on its
 * PostgreSQL store, every key in turn, on a store of many keys against one of 10, interleaved.
 * Scenario 5 and the PostgreSQL run measure the same over HTTP, where this is one step of a request
 * among many; this isolates what a large store costs. On PostgreSQL the server's processes are
 * timed too (the lookup's other half).
 *
 * @module
 */
import { join } from 'node:path'
import type { KeyStore } from '@eyepop/auth-core'
import { createSqliteStore } from '@eyepop/auth-core/sqlite'
import { DATABASE_FILENAME } from '@eyepop/emulator'
import Database from 'better-sqlite3'
import { median } from './stats.js'

/** A store to look keys up in, its stored hashes, and the CPU time of its server if it has one. */
export interface LookupStore {
  store: KeyStore
  /** Every stored hash, in no hash order (the lookups take them in turn). */
  hashes: string[]
  /** The CPU time (in seconds, so far) of the database server's processes (absent for SQLite). */
  serverCpu?: () => number
}

/** Options of {@link measureKeyLookup}. */
export interface KeyLookupOptions {
  /** The large store and the one of 10 keys; they are not closed here. */
  large: LookupStore
  ten: LookupStore
  rounds: number
  /** Lookups per store per round. */
  lookups: number
  /**
   * Lookups asked for at once (as many requests arriving together would): the SQLite store reads
   * those of one turn of the event loop in one transaction, the PostgreSQL store sends them over
   * its pool's connections. 1: one at a time.
   */
  concurrency: number
}

/** CPU time per lookup (µs) on each store, per round, and the medians. */
export interface KeyLookupResult {
  keys: { large: number; ten: number }
  largeUs: number[]
  tenUs: number[]
  /** Medians over the rounds. */
  medianLargeUs: number
  medianTenUs: number
  /** The median over the rounds of large / ten, round by round. */
  ratio: number
  /** The database server's CPU time per lookup (µs), per round and median, when it has one. */
  server?: { largeUs: number[]; tenUs: number[]; medianLargeUs: number; medianTenUs: number; ratio: number }
}

/** An emulator data dir's SQLite key store, and its key hashes in the order of their (random) ids. */
export function openSqliteLookupStore(dataDir: string): LookupStore {
  const db = new Database(join(dataDir, DATABASE_FILENAME), { readonly: true })
  let hashes: string[]
  try {
    hashes = db.prepare<[], string>('SELECT hash FROM api_keys ORDER BY id').pluck().all()
  } finally {
    db.close()
  }
  return { store: createSqliteStore({ filename: join(dataDir, DATABASE_FILENAME) }), hashes }
}

/** Measures the lookups (see the module comment). */
export async function measureKeyLookup(options: KeyLookupOptions): Promise<KeyLookupResult> {
  const sides = [options.large, options.ten].map((side) => ({ ...side, us: [] as number[], serverUs: [] as number[] }))
  const time = async (side: (typeof sides)[number], n: number) => {
    const { store, hashes } = side
    const started = process.cpuUsage()
    const serverStarted = side.serverCpu?.()
    const c = options.concurrency
    for (let i = 0; i < n; i += c) {
      const found = await Promise.all(
        Array.from({ length: Math.min(c, n - i) }, (_, j) => store.apiKeys.findByHash(hashes[(i + j) % hashes.length]!)),
      )
      if (found.some((record) => !record)) throw new Error('a stored hash was not found')
    }
    const cpu = process.cpuUsage(started)
    const server = serverStarted === undefined ? NaN : ((side.serverCpu!() - serverStarted) * 1e6) / n
    return { us: (cpu.user + cpu.system) / n, server }
  }
  // Warm-up: every page of both stores once.
  for (const side of sides) await time(side, side.hashes.length)
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 ? [...sides].reverse() : sides
    for (const side of order) {
      const { us, server } = await time(side, options.lookups)
      side.us.push(us)
      side.serverUs.push(server)
    }
  }
  const [large, ten] = sides as [(typeof sides)[number], (typeof sides)[number]]
  const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!))
  return {
    keys: { large: large.hashes.length, ten: ten.hashes.length },
    largeUs: large.us,
    tenUs: ten.us,
    medianLargeUs: median(large.us),
    medianTenUs: median(ten.us),
    ratio: ratio(large.us, ten.us),
    ...(large.serverCpu && ten.serverCpu && {
      server: {
        largeUs: large.serverUs,
        tenUs: ten.serverUs,
        medianLargeUs: median(large.serverUs),
        medianTenUs: median(ten.serverUs),
        ratio: ratio(large.serverUs, ten.serverUs),
      },
    }),
  }
}
