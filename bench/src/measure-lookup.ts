/**
 * The key lookup alone, in one process: `findByHash` on auth-core's SQLite store, every key in
 * turn, on a store of many keys against one of 10, interleaved. Scenario 5 measures the same over
 * HTTP, where this is one step of a request among many; this isolates what a large store costs.
 *
 * @module
 */
import { join } from 'node:path'
import { createSqliteStore } from '@eyepop/auth-core/sqlite'
import { DATABASE_FILENAME } from '@eyepop/emulator'
import Database from 'better-sqlite3'
import { median } from './stats.js'

/** Options of {@link measureKeyLookup}. */
export interface KeyLookupOptions {
  /** Data dirs of two seeded emulator stores: the large one and the one of 10 keys. */
  largeDir: string
  tenDir: string
  rounds: number
  /** Lookups per store per round. */
  lookups: number
  /**
   * Lookups asked for at once (as many requests arriving together would): the store reads those
   * of one turn of the event loop in one transaction. 1: one at a time.
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
}

/** The stored key hashes in the order of their (random) ids: every key in turn, in no hash order. */
function hashesOf(dataDir: string): string[] {
  const db = new Database(join(dataDir, DATABASE_FILENAME), { readonly: true })
  try {
    return db.prepare<[], string>('SELECT hash FROM api_keys ORDER BY id').pluck().all()
  } finally {
    db.close()
  }
}

/** Measures the lookups (see the module comment). */
export async function measureKeyLookup(options: KeyLookupOptions): Promise<KeyLookupResult> {
  const sides = [options.largeDir, options.tenDir].map((dir) => ({
    store: createSqliteStore({ filename: join(dir, DATABASE_FILENAME) }),
    hashes: hashesOf(dir),
    us: [] as number[],
  }))
  try {
    const time = async (side: (typeof sides)[number], n: number) => {
      const { store, hashes } = side
      const started = process.cpuUsage()
      const c = options.concurrency
      for (let i = 0; i < n; i += c) {
        const found = await Promise.all(
          Array.from({ length: Math.min(c, n - i) }, (_, j) => store.apiKeys.findByHash(hashes[(i + j) % hashes.length]!)),
        )
        if (found.some((record) => !record)) throw new Error('a stored hash was not found')
      }
      const cpu = process.cpuUsage(started)
      return (cpu.user + cpu.system) / n
    }
    // Warm-up: every page of both stores once.
    for (const side of sides) await time(side, side.hashes.length)
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 ? [...sides].reverse() : sides
      for (const side of order) side.us.push(await time(side, options.lookups))
    }
    const [large, ten] = sides as [(typeof sides)[number], (typeof sides)[number]]
    return {
      keys: { large: large.hashes.length, ten: ten.hashes.length },
      largeUs: large.us,
      tenUs: ten.us,
      medianLargeUs: median(large.us),
      medianTenUs: median(ten.us),
      ratio: median(large.us.map((us, i) => us / ten.us[i]!)),
    }
  } finally {
    for (const { store } of sides) await store.close()
  }
}
