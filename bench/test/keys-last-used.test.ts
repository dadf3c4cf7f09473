/**
 * The scale scenario's hook that sets every key's stored last use between runs: on a real SQLite
 * store written by auth-core (the emulator's keys), with another connection open (as the running emulator's is).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApiKey, type KeyStore } from '@eyepop/auth-core'
import { createSqliteStore } from '@eyepop/auth-core/sqlite'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { setKeysLastUsed } from '../src/keys-last-used.js'

const NOW = Date.UTC(2026, 10, 27, 12)
const HOUR = 3_600_000
const KEYS = 500

describe('setKeysLastUsed()', () => {
  let dir: string
  let file: string
  let store: KeyStore
  let ids: string[]

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eyepop-bench-last-used-'))
    file = join(dir, 'emulator.db')
    store = createSqliteStore({ filename: file })
    const pepper = new Uint8Array(32).fill(7)
    ids = []
    for (let i = 0; i < KEYS; i++) {
      const { record } = await createApiKey({ store, accountId: 'acct', name: `k${i}`, expiresAt: null, pepper, now: () => NOW - HOUR })
      ids.push(record.id)
    }
  })

  afterEach(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const lastUses = async () => Promise.all(ids.map(async (id) => (await store.apiKeys.get(id))!.lastUsedAt!))

  it('spreads the keys over the past hour, seen at once by a connection that stays open', async () => {
    expect(setKeysLastUsed(file, 'within-the-hour', { now: NOW })).toBe(KEYS)
    const uses = await lastUses()
    for (const at of uses) {
      expect(at).toBeLessThanOrEqual(NOW)
      expect(at).toBeGreaterThan(NOW - HOUR)
    }
    // Scattered: many distinct seconds, and the keys used next to each other are not written
    // in the same minute.
    expect(new Set(uses).size).toBeGreaterThan(KEYS * 0.9)
    const sameMinute = uses.slice(1).filter((at, i) => Math.abs(at - uses[i]!) < 60_000).length
    expect(sameMinute).toBeLessThan(KEYS / 10)
  })

  it('leaves the keys used within the hour as they are, and puts back those past it', async () => {
    setKeysLastUsed(file, 'within-the-hour', { now: NOW })
    const before = await lastUses()
    await store.apiKeys.recordUse([{ id: ids[0]!, at: NOW + 10_000 }])
    const later = NOW + 20 * 60_000
    const set = setKeysLastUsed(file, 'within-the-hour', { now: later })
    const after = await lastUses()
    expect(after[0]).toBe(NOW + 10_000)
    let moved = 0
    for (const [i, at] of after.entries()) {
      expect(at).toBeGreaterThan(later - HOUR)
      expect(at).toBeLessThanOrEqual(later)
      if (i > 0 && at !== before[i]) moved++
    }
    // About a third had passed their hour in those 20 minutes.
    expect(set).toBe(moved)
    expect(moved).toBeGreaterThan(KEYS * 0.25)
    expect(moved).toBeLessThan(KEYS * 0.42)
  })

  it('marks every key idle for a day', async () => {
    setKeysLastUsed(file, 'within-the-hour', { now: NOW })
    expect(setKeysLastUsed(file, 'a-day-ago', { now: NOW })).toBe(KEYS)
    expect(new Set(await lastUses())).toEqual(new Set([NOW - 24 * HOUR]))
  })

  it('leaves the write-ahead log empty (checkpointed into the database file)', () => {
    setKeysLastUsed(file, 'a-day-ago', { now: NOW })
    expect(statSync(`${file}-wal`).size).toBe(0)
  })

  it('throws when the checkpoint cannot complete because a reader holds an older snapshot', () => {
    const reader = new Database(file, { readonly: true })
    try {
      reader.exec('BEGIN')
      reader.prepare('SELECT count(*) FROM api_keys').get()
      expect(() => setKeysLastUsed(file, 'a-day-ago', { now: NOW, timeoutMs: 50 })).toThrow(/could not checkpoint/)
    } finally {
      reader.exec('COMMIT')
      reader.close()
    }
  })
})
