/**
 * Seeds an emulator data dir before the emulator starts: the emulator's own services open the
 * store (so the key-hash pepper, the default account and the signing key are the emulator's),
 * then `count` API keys are written through auth-core's `createApiKey`, the function the key
 * service uses, without the service's per-account limit (20), and one Pop is created. The keys
 * are marked as used before (a day earlier), so that no load measures their first use (an audit
 * event); scenario 5 then sets its stores' last uses itself (`keys-last-used.ts`).
 *
 * Usage: `node dist/seed-store.js --data-dir DIR --keys N --out seed.json`. The output file holds
 * the keys in clear: it lives in the run's temporary folder.
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createApiKey } from '@eyepop/auth-core'
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
  },
})
const dataDir = values['data-dir']
const count = Number(values.keys)
if (!dataDir || !values.out || !Number.isInteger(count) || count < 1) {
  throw new TypeError('usage: seed-store --data-dir DIR --keys N --out FILE')
}

const started = performance.now()
const emulator = await createApp({ dataDir, logLevel: 'silent' })
try {
  const { services } = emulator
  const accountId = services.defaultAccount.id
  const pop = await services.pops.create(accountId, { name: 'Bench Pop' })
  const keys: SeedFile['keys'] = []
  const now = Date.now()
  for (let i = 0; i < count; i++) {
    const { record, key } = await createApiKey({
      store: services.store,
      accountId,
      name: `bench ${i}`,
      expiresAt: null,
      pepper: services.pepper,
      now: () => now,
    })
    keys.push({ id: record.id, key })
  }
  // The keys have been used before (a day ago): the first use of a key (an audit event, once per
  // key) is not what the load measures.
  const ids = keys.map((k) => k.id)
  for (let i = 0; i < ids.length; i += 1000) {
    await services.store.apiKeys.recordUse(ids.slice(i, i + 1000).map((id) => ({ id, at: now - 86_400_000 })))
  }
  const seed: SeedFile = { accountId, popId: pop.id, keys, seedMs: performance.now() - started }
  writeFileSync(values.out, JSON.stringify(seed))
} finally {
  await emulator.close()
}
