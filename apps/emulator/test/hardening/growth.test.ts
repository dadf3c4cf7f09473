/**
 * What anonymous and looping clients can make the emulator store is bounded: sign-ins started
 * per address per minute, pending sign-ins and device codes deleted once expired (not only at
 * shutdown), revoked tokens dropped from the feed after their expiry, and the feed answered in
 * pages.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteRevocationSource, createRevocationList, REVOCATION_PAGE_LIMIT, type RevocationFeedBody } from '@eyepop/auth-core'
import Database from 'better-sqlite3'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startServer, type RunningServer } from '../../src/main.js'
import { CLI_CLIENT_ID } from '../../src/provider/constants.js'
import { browser, signIn } from '../manage/browser-session.js'
import type { EmulatorStore } from '../../src/store/types.js'
import { createSqliteEmulatorStore } from '../../src/store/sqlite-store.js'

const logger = pino({ level: 'silent' })
let dir: string
const running: RunningServer[] = []
const stores: EmulatorStore[] = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emulator-growth-'))
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()))
  await Promise.all(stores.splice(0).map((s) => s.close()))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** An emulator on a SQLite file of its own whose clock the test moves. */
async function start(config: Record<string, unknown> = {}, purgeIntervalMs = 60_000) {
  const filename = join(dir, `${crypto.randomUUID()}.db`)
  // Real time, set ahead by the test: oidc-provider, which issues the dashboard's tokens, keeps real time.
  const started = Date.now()
  const clock = { now: started }
  const now = () => clock.now + (Date.now() - started)
  const store = createSqliteEmulatorStore({ filename, now })
  stores.push(store)
  const server = await startServer(
    { port: 0, dataDir: null, logLevel: 'silent', ...config },
    { logger, store, now, purgeIntervalMs },
  )
  running.push(server)
  await server.emulator.ready
  const db = new Database(filename, { readonly: true })
  const rows = (model: string) => {
    const row = db.prepare('SELECT count(*) AS n FROM oidc_artifacts WHERE model = ?').get(model) as { n: number }
    return row.n
  }
  return { server, url: server.url, clock, store, rows, db }
}

const deviceAuthorization = (url: string) =>
  fetch(`${url}/device/auth`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLI_CLIENT_ID, scope: 'openid manage:keys' }),
  })

describe('sign-ins started per address', () => {
  it('answers the 31st dashboard login of a minute 429 with Retry-After, and stores nothing for it', async () => {
    const { url, rows, db } = await start()
    try {
      const answers: number[] = []
      for (let i = 0; i < 40; i++) answers.push((await fetch(`${url}/dashboard/login`, { redirect: 'manual' })).status)
      expect(answers.slice(0, 30)).toEqual(Array(30).fill(303))
      expect(answers.slice(30)).toEqual(Array(10).fill(429))
      expect(rows('DashboardLogin')).toBe(30)
      const refused = await fetch(`${url}/dashboard/login`, { redirect: 'manual', headers: { Accept: 'application/json' } })
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60)
      expect(await refused.json()).toMatchObject({ error: 'too_many_requests', error_description: expect.stringContaining('a minute') })
    } finally {
      db.close()
    }
  })

  it('counts a HEAD of the dashboard login, which starts a sign-in as a GET does', async () => {
    const { url, rows, db } = await start({ signInRateLimit: 3 })
    try {
      const answers: number[] = []
      for (let i = 0; i < 5; i++) answers.push((await fetch(`${url}/dashboard/login`, { method: 'HEAD', redirect: 'manual' })).status)
      expect(answers).toEqual([303, 303, 303, 429, 429])
      expect(rows('DashboardLogin')).toBe(3)
      expect((await fetch(`${url}/dashboard/login`, { redirect: 'manual' })).status).toBe(429)
    } finally {
      db.close()
    }
  })

  it('counts device authorizations and authorization requests too, and is a configured number', async () => {
    const { url, rows, db } = await start({ signInRateLimit: 3 })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) statuses.push((await deviceAuthorization(url)).status)
      expect(statuses).toEqual([200, 200, 200])
      const refused = await deviceAuthorization(url)
      expect(refused.status).toBe(429)
      expect(refused.headers.get('content-type')).toMatch(/application\/json/)
      expect(await refused.json()).toMatchObject({ error: 'too_many_requests' })
      expect((await fetch(`${url}/auth?client_id=${CLI_CLIENT_ID}`, { redirect: 'manual' })).status).toBe(429)
      expect(rows('DeviceCode')).toBe(3)
      // What is not a start is not counted: discovery, the token route, the dashboard's API.
      expect((await fetch(`${url}/.well-known/openid-configuration`)).status).toBe(200)
    } finally {
      db.close()
    }
  })

  it('still lets a person sign in to the dashboard within the limit', async () => {
    const { url, db } = await start({ signInRateLimit: 2 })
    try {
      const session = browser(url)
      const result = await signIn(session, 'dev@eyepop.local', 'eyepop-dev')
      expect(result.ok).toBe(true)
    } finally {
      db.close()
    }
  })
})

describe('the periodic purge', () => {
  it('deletes pending sign-ins and device codes once expired, while the emulator runs', async () => {
    const { url, rows, clock, db } = await start({}, 20)
    try {
      for (let i = 0; i < 5; i++) await fetch(`${url}/dashboard/login`, { redirect: 'manual' })
      for (let i = 0; i < 5; i++) expect((await deviceAuthorization(url)).status).toBe(200)
      expect(rows('DashboardLogin')).toBe(5)
      expect(rows('DeviceCode')).toBe(5)
      // A pending dashboard sign-in lasts 10 minutes, a device code 10 minutes.
      clock.now += 10 * 60_000 + 1
      await vi.waitFor(() => {
        expect(rows('DashboardLogin')).toBe(0)
        expect(rows('DeviceCode')).toBe(0)
      })
    } finally {
      db.close()
    }
  })

  it('drops revoked tokens from the feed once they have expired anyway, never deleted keys', async () => {
    const { server, clock, store } = await start({}, 20)
    const { services } = server.emulator
    const key = await services.keys.create(services.defaultAccount.id, { name: 'deleted', expires: 'never' })
    await services.keys.delete(services.defaultAccount.id, key.id)
    for (let i = 0; i < 10; i++) await store.revocations.revokeToken(`jti-${i}`, clock.now + 60_000, clock.now)
    expect((await store.revocations.since(0)).revokedTokens).toHaveLength(10)
    clock.now += 60_000
    await vi.waitFor(async () => expect((await store.revocations.since(0)).revokedTokens).toHaveLength(0))
    expect((await store.revocations.since(0)).revoked).toEqual([{ id: key.id, deletedAt: expect.any(Number) }])
  })
})

describe('GET /v1/auth/revocations in pages', () => {
  it('answers at most limit entries with has_more, and a remote list catches up over every page', async () => {
    const { url, store, clock } = await start()
    for (let i = 0; i < REVOCATION_PAGE_LIMIT + 5; i++) await store.revocations.revokeToken(`jti-${i}`, clock.now + 3_600_000, clock.now)

    const feed = async (query: string) => (await (await fetch(`${url}/v1/auth/revocations${query}`)).json()) as RevocationFeedBody
    const first = await feed('')
    expect(first.revoked_tokens).toHaveLength(REVOCATION_PAGE_LIMIT)
    expect(first.has_more).toBe(true)
    const rest = await feed(`?cursor=${first.cursor}`)
    expect(rest.revoked_tokens.map((t) => t.jti)).toEqual(['jti-1000', 'jti-1001', 'jti-1002', 'jti-1003', 'jti-1004'])
    expect(rest.has_more).toBe(false)
    const small = await feed('?cursor=0&limit=2')
    expect(small).toMatchObject({ revoked_tokens: [{ jti: 'jti-0' }, { jti: 'jti-1' }], has_more: true })

    const list = await createRevocationList({ source: createRemoteRevocationSource(`${url}/v1/auth/revocations`), pollIntervalMs: 60_000 })
    try {
      expect(list.isTokenRevoked('jti-0')).toBe(true)
      expect(list.isTokenRevoked(`jti-${REVOCATION_PAGE_LIMIT + 4}`)).toBe(true)
      expect(list.size).toBe(REVOCATION_PAGE_LIMIT + 5)
    } finally {
      list.stop()
    }
  })

  it.each(['0', '-1', '1001', 'abc', '1.5', '99999'])('answers limit=%s with a JSON 400', async (limit) => {
    const { url } = await start()
    const res = await fetch(`${url}/v1/auth/revocations?limit=${limit}`)
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('limit') })
  })
})
