/**
 * Seeds an emulator data dir, or a PostgreSQL database, before the emulator starts: the emulator's
 * own services open the store (so the key-hash pepper, the default account and the signing key are
 * the emulator's), then `count` API keys are made by auth-core's `createApiKey`, the function the
 * key service uses, without the service's per-account limit (20), and one Pop is created.
 *
 * - In a data dir (SQLite), each key is written through the store (`createApiKey` writes it), then
 *   marked as used before (a day earlier), so that no load measures their first use (an audit
 *   event); scenario 5 then sets its stores' last uses itself (`keys-last-used.ts`).
 * - In a database (`--database-url`), the records `createApiKey` makes are written 10,000 at a time
 *   by one `INSERT … SELECT FROM unnest(…)` each (one statement per key through the store took
 *   minutes for 100,000), with their last use spread over the 30 minutes before the seeding: the
 *   emulator writes a key's last use at most once an hour, so no request of a run shorter than half
 *   an hour writes one, on any of the stores compared. Then `VACUUM ANALYZE` (as after any bulk
 *   load), and the first and last keys are read back through the emulator's store.
 *
 * Usage: `node dist/seed-store.js --data-dir DIR [--database-url URL] --keys N --out seed.json`.
 * The output file holds the keys in clear: it lives in the run's temporary folder.
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createApiKey, type ApiKeyRecord, type KeyStore } from '@eyepop/auth-core'
import { createPostgresStore } from '@eyepop/auth-core/postgres'
import { createApp } from '@eyepop/emulator'

/** What a seeded data dir holds, as the harness reads it. */
export interface SeedFile {
  accountId: string
  popId: string
  keys: Array<{ id: string; key: string }>
  /** How long the seeding took (in milliseconds). */
  seedMs: number
}

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    keys: { type: 'string' },
    out: { type: 'string' },
    'database-url': { type: 'string' },
  },
})
const dataDir = values['data-dir']
const count = Number(values.keys)
if (!dataDir || !values.out || !Number.isInteger(count) || count < 1) {
  throw new TypeError('usage: seed-store --data-dir DIR [--database-url URL] --keys N --out FILE')
}
const databaseUrl = values['database-url']

const HALF_HOUR_MS = 1_800_000
const CHUNK = 10_000

/** Writes key records to a PostgreSQL database, `CHUNK` per statement, last used within the past half hour. */
async function insertKeys(url: string, records: ApiKeyRecord[], now: number): Promise<void> {
  const store = await createPostgresStore({ connectionString: url })
  try {
    for (let i = 0; i < records.length; i += CHUNK) {
      const chunk = records.slice(i, i + CHUNK)
      const column = <T>(get: (r: ApiKeyRecord, j: number) => T) => chunk.map((r, j) => get(r, i + j))
      await store.pool.query({
        text: `INSERT INTO api_keys (id, account_id, name, hash, hint, created_at, expires_at, last_used_at, deleted_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])`,
        values: [
          column((r) => r.id),
          column((r) => r.accountId),
          column((r) => r.name),
          column((r) => r.hash),
          column((r) => r.hint),
          column((r) => r.createdAt),
          column((r) => r.expiresAt),
          // Spread over the half hour by the key's place (7919 is prime: neighbours land far apart).
          column((_r, j) => now - ((j * 7919) % 1800) * 1000 - 1000),
          column((r) => r.deletedAt),
        ],
      })
    }
    await store.pool.query('VACUUM ANALYZE api_keys')
  } finally {
    await store.close()
  }
}

const started = performance.now()
const emulator = await createApp({ dataDir, ...(databaseUrl !== undefined && { databaseUrl }), logLevel: 'silent' })
try {
  const { services } = emulator
  const accountId = services.defaultAccount.id
  const pop = await services.pops.create(accountId, { name: 'Bench Pop' })
  const keys: SeedFile['keys'] = []
  const now = Date.now()
  // In a database, `createApiKey` only makes the records; they are written in chunks below.
  const records: ApiKeyRecord[] = []
  const collect = { apiKeys: { create: async (record: ApiKeyRecord) => void records.push(record) } } as unknown as KeyStore
  for (let i = 0; i < count; i++) {
    const { record, key } = await createApiKey({
      store: databaseUrl === undefined ? services.store : collect,
      accountId,
      name: `bench ${i}`,
      expiresAt: null,
      pepper: services.pepper,
      now: () => now,
    })
    keys.push({ id: record.id, key })
  }
  if (databaseUrl !== undefined) {
    await insertKeys(databaseUrl, records, now)
    for (const record of [records[0]!, records.at(-1)!]) {
      const read = await services.store.apiKeys.findByHash(record.hash)
      if (read?.id !== record.id || read.lastUsedAt === null || now - read.lastUsedAt > HALF_HOUR_MS) {
        throw new Error(`key ${record.id} did not read back as written`)
      }
    }
  } else {
    // The keys have been used before (a day ago): the first use of a key (an audit event, once per
    // key) is not what the load measures.
    const ids = keys.map((k) => k.id)
    for (let i = 0; i < ids.length; i += 1000) {
      await services.store.apiKeys.recordUse(ids.slice(i, i + 1000).map((id) => ({ id, at: now - 86_400_000 })))
    }
  }
  const seed: SeedFile = { accountId, popId: pop.id, keys, seedMs: performance.now() - started }
  writeFileSync(values.out, JSON.stringify(seed))
} finally {
  await emulator.close()
}
