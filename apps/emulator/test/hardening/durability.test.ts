/**
 * A `kill -9` in the middle of a burst of key creations loses no key whose creation was answered.
 * The SQLite store commits each key (WAL, `synchronous = NORMAL`) before the 201 goes out, and a
 * killed process, unlike a power cut, loses no committed transaction: the WAL is in the page
 * cache, and the next open replays it (https://www.sqlite.org/wal.html#durability). So after a
 * restart on the same data dir every answered key is listed and still exchanges for a token, a
 * token issued before the kill still verifies, and the store opens cleanly.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { DATABASE_FILENAME } from '../../src/config/defaults.js'
import { startEmulatorProcess, type EmulatorProcess } from '../e2e/process.js'
import { browser, signIn, type BrowserSession } from '../manage/browser-session.js'
import { createKeysUntilKilled, inBatches } from '../bursts.js'

const DEV_EMAIL = 'dev@eyepop.local'
const DEV_PASSWORD = 'eyepop-dev'
const BURST = 200
const IN_FLIGHT = 16
const KILL_AFTER = 80

const emulators: EmulatorProcess[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const emulator of emulators.splice(0)) await emulator.stop()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/**
 * The emulator CLI on `dataDir`, on 127.0.0.1 and `port` (default: an ephemeral one), with room for
 * the burst. The issuer is the base URL, so a token outlives a restart only on the same port.
 */
async function start(dataDir: string, port = '0'): Promise<EmulatorProcess> {
  const args = ['--host', '127.0.0.1', '--port', port, '--data-dir', dataDir, '--max-keys-per-account', String(BURST + 10)]
  // Another process may take the freed port for a moment: try again a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      const emulator = await startEmulatorProcess(args)
      emulators.push(emulator)
      return emulator
    } catch (err) {
      if (attempt >= 5 || !/EADDRINUSE/.test(String(err))) throw err
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}

/** A dashboard session of the development account, and a caller of `/api/v1` with its CSRF token. */
async function manager(url: string) {
  const session: BrowserSession = browser(url)
  const signedIn = await signIn(session, DEV_EMAIL, DEV_PASSWORD)
  expect(signedIn.ok).toBe(true)
  const { csrfToken } = (await (await session.request('/api/v1/session')).json()) as { csrfToken: string }
  return {
    createKey: (name: string) =>
      session.request('/api/v1/keys', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken },
        body: JSON.stringify({ name, expires: 'never' }),
      }),
    async listKeyIds(): Promise<string[]> {
      const res = await session.request('/api/v1/keys')
      expect(res.status).toBe(200)
      return ((await res.json()) as { keys: { id: string }[] }).keys.map((k) => k.id)
    },
  }
}

/** The status of `POST /v1/auth/authenticate` with `key`, and its access token when 200. */
async function exchange(url: string, key: string): Promise<{ status: number; accessToken?: string }> {
  const res = await fetch(`${url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${key}` } })
  const body = (await res.json()) as { access_token?: string }
  return { status: res.status, ...(body.access_token !== undefined && { accessToken: body.access_token }) }
}

describe('a kill -9 during a burst of key creations', () => {
  it('loses no acknowledged key, nor the tokens issued before it; the store reopens cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'emulator-durability-'))
    dirs.push(dataDir)
    const first = await start(dataDir)
    const before = await manager(first.url)

    const seed = await before.createKey('before the burst')
    expect(seed.status).toBe(201)
    const seedKey = (await seed.json()) as { id: string; key: string }
    const issued = await exchange(first.url, seedKey.key)
    expect(issued.status).toBe(200)

    const burst = await createKeysUntilKilled({
      burst: BURST,
      inFlight: IN_FLIGHT,
      killAfter: KILL_AFTER,
      create: (name) => before.createKey(name),
      kill: () => first.child.kill('SIGKILL'),
    })
    const acknowledged = [seedKey, ...burst.acknowledged]
    const { refused } = burst
    if (first.child.signalCode === null && first.child.exitCode === null) {
      await new Promise((resolve) => first.child.once('exit', resolve))
    }
    expect(first.child.signalCode).toBe('SIGKILL')
    // The kill cut the burst short, and no answer before it was an error.
    expect(refused).toEqual([])
    expect(acknowledged.length).toBeGreaterThan(KILL_AFTER)
    expect(acknowledged.length).toBeLessThan(BURST)

    const second = await start(dataDir, new URL(first.url).port)
    expect((await fetch(`${second.url}/healthz`)).status).toBe(200)
    const after = await manager(second.url)
    const listed = new Set(await after.listKeyIds())
    expect(acknowledged.filter((k) => !listed.has(k.id)).map((k) => k.id)).toEqual([])
    const exchanged = await inBatches(acknowledged, IN_FLIGHT, async (k) => ({ id: k.id, status: (await exchange(second.url, k.key)).status }))
    expect(exchanged.filter((e) => e.status !== 200)).toEqual([])
    const verified = await fetch(`${second.url}/workers/config`, { headers: { Authorization: `Bearer ${issued.accessToken}` } })
    expect(verified.status).toBe(200)
    expect(second.output()).not.toMatch(/database is locked|malformed|corrupt|SQLITE_/i)

    // A clean stop, then SQLite's own check of every page and index of the file.
    await second.stop()
    const db = new Database(join(dataDir, DATABASE_FILENAME), { readonly: true })
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    } finally {
      db.close()
    }
  }, 30_000)
})
