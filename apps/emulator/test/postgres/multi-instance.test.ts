/**
 * Several emulators on one PostgreSQL database behind one address (issue 16), as a round-robin
 * balancer would use them: consecutive requests of one client land on different instances.
 *
 * - instances started at the same moment with one accounts file both start, each account made once;
 * - oidc-provider's state (interactions, sessions, grants, codes, device codes) and the dashboard's
 *   pending sign-ins are in the database: the dashboard sign-in (code flow with PKCE) and the
 *   device flow of `eyepop-emulator login` complete with every request sent to the other instance,
 *   also when the command polls between the approval of its code and the save of the session;
 * - a dashboard session started on one works on the other (pages, the API and its CSRF token), and
 *   signing out on one ends it on both;
 * - the signing keys are shared: after a rotation on one, the tokens issued before keep verifying on
 *   both, and those issued after by either verify on both, also a day on, when the retired key no
 *   longer verifies, and when both rotate at the same moment;
 * - the key limit (`maxKeysPerAccount`) is kept in the database: it holds across instances, also
 *   when creations race on both; the compute-session limit is kept in memory, per instance;
 * - a `kill -9` of one instance in a burst of key creations loses no acknowledged key, and the other
 *   serves on, without a failure, every request made to it then and after.
 *
 * The issuer, the address clients use, is a stand-in that the instances cannot reach back through.
 * The database is a throwaway server of the tests' own, a database per case; the tests fail, never
 * skip, where PostgreSQL is not installed.
 */
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedHeader } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { deviceLogin } from '../../src/cli/login.js'
import type { EmulatorConfig } from '../../src/config/defaults.js'
import type { RunningServer } from '../../src/main.js'
import { createPostgresEmulatorStore } from '../../src/store/postgres-store.js'
import type { EmulatorStore } from '../../src/store/types.js'
import { startEmulatorProcess, type EmulatorProcess } from '../e2e/process.js'
import { startTestServer } from '../helpers.js'
import { useDatabasePerCase } from './database-per-case.js'
import { createKeysUntilKilled, inBatches } from '../bursts.js'
import { approve, browser, follow, signIn, type BrowserSession } from '../manage/browser-session.js'

/**
 * The one address clients use, the issuer of every instance: a stand-in for a balancer that the
 * instances themselves cannot reach (as from inside a container), which answers 502 to anything.
 */
let ISSUER: string
let balancer: Server
const DEV_EMAIL = 'dev@eyepop.local'
const DEV_PASSWORD = 'eyepop-dev'

const pg = useDatabasePerCase()
const running: Array<RunningServer | EmulatorProcess> = []
const dirs: string[] = []

beforeAll(async () => {
  balancer = createHttpServer((_req, res) => res.writeHead(502).end())
  await new Promise<void>((resolve) => balancer.listen(0, '127.0.0.1', resolve))
  ISSUER = `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`
})

afterEach(async () => {
  for (const emulator of running.splice(0)) {
    await ('stop' in emulator ? emulator.stop() : emulator.close())
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

afterAll(async () => {
  await new Promise((resolve) => balancer?.close(resolve))
})

/** Two emulators in this process on the case's database, with one issuer. */
async function startTwo(overrides: Partial<EmulatorConfig> = {}): Promise<[RunningServer, RunningServer]> {
  const config = { databaseUrl: pg.databaseUrl, issuer: ISSUER, revocationPollMs: 20, ...overrides }
  // One after the other: the second finds the signing key and the cookie secret the first made.
  const a = await startTestServer(config)
  running.push(a)
  const b = await startTestServer(config)
  running.push(b)
  return [a, b]
}

/** Where an emulator listens (its `url` is the shared issuer). */
function address(emulator: RunningServer): string {
  return `http://127.0.0.1:${(emulator.server.address() as AddressInfo).port}`
}

/** A browser whose consecutive requests go to each of `emulators` in turn. */
function roundRobin(...emulators: RunningServer[]): BrowserSession & { readonly sentTo: string[]; readonly steps: string[] } {
  const addresses = emulators.map(address)
  const sentTo: string[] = []
  /** Each request and its answer's status, to say where a failing flow went wrong. */
  const steps: string[] = []
  const session = browser(() => {
    const next = addresses[sentTo.length % addresses.length]!
    sentTo.push(next)
    return next
  })
  const send = session.request
  session.request = async (path, init) => {
    const res = await send(path, init)
    steps.push(`${init?.method ?? 'GET'} ${path.split('?')[0]} on ${sentTo.at(-1)}: ${res.status}`)
    return res
  }
  return Object.assign(session, { sentTo, steps })
}

/** `fetch` for a client configured with the issuer: each call goes to the next of `emulators`. */
function roundRobinFetch(...emulators: RunningServer[]): typeof fetch & { readonly sentTo: string[]; readonly steps: string[] } {
  const addresses = emulators.map(address)
  const sentTo: string[] = []
  /** Each call and its answer (status and error code), to say where a failing flow went wrong. */
  const steps: string[] = []
  const send = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    const next = addresses[sentTo.length % addresses.length]!
    sentTo.push(next)
    const res = await fetch(`${next}${url.pathname}${url.search}`, init)
    const error = ((await res.clone().json().catch(() => ({}))) as { error?: string }).error
    steps.push(`${init?.method ?? 'GET'} ${url.pathname} on ${next}: ${res.status}${error ? ` ${error}` : ''}`)
    return res
  }
  return Object.assign(send as typeof fetch, { sentTo, steps })
}

/** The dashboard API of `session` (`/api/v1…`), sent to `base`. */
function api(session: BrowserSession, base: string, path: string, init: RequestInit & { json?: unknown } = {}) {
  const { json, ...rest } = init
  const headers = new Headers(rest.headers)
  if (json !== undefined) headers.set('Content-Type', 'application/json')
  return session.request(`${base}/api/v1${path}`, { ...rest, headers, ...(json !== undefined && { body: JSON.stringify(json) }) })
}

/** `POST /v1/auth/authenticate` with `key` at `base`: the access token. */
async function accessToken(base: string, key: string): Promise<string> {
  const res = await fetch(`${base}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${key}` } })
  const body = (await res.json()) as { access_token?: string }
  if (res.status !== 200 || body.access_token === undefined) throw new Error(`authenticate answered ${res.status} ${JSON.stringify(body)}`)
  return body.access_token
}

/** The status of a call at `base` that needs a valid API-key token. */
async function tokenStatus(base: string, token: string): Promise<number> {
  const res = await fetch(`${base}/v1/sessions`, { headers: { Authorization: `Bearer ${token}` } })
  await res.body?.cancel()
  return res.status
}

describe('two instances started at once', () => {
  it('both start with one accounts file on a new database, and each account exists once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eyepop-accounts-'))
    dirs.push(dir)
    const accountsFile = join(dir, 'accounts.json')
    const entries = Array.from({ length: 3 }, (_, i) => ({ email: `dev${i}@example.test`, password: `password-${i}`, name: `Dev ${i}` }))
    writeFileSync(accountsFile, JSON.stringify(entries))
    const config = { databaseUrl: pg.databaseUrl, issuer: ISSUER, accountsFile }
    const both = await Promise.allSettled([startTestServer(config), startTestServer(config)])
    for (const result of both) if (result.status === 'fulfilled') running.push(result.value)
    expect(both.map((r) => (r.status === 'rejected' ? String(r.reason) : 'started'))).toEqual(['started', 'started'])
    const [a, b] = running as RunningServer[]
    const emails = (await b!.emulator.services.accounts.list()).map((account) => account.email)
    expect(emails.filter((email) => email.endsWith('@example.test')).sort()).toEqual(entries.map((e) => e.email))
    expect(await a!.emulator.services.accounts.authenticate('dev2@example.test', 'password-2')).toBeDefined()
  })
})

describe('oidc-provider state across instances', () => {
  it('signs in to the dashboard (code flow with PKCE) with every request sent to the other instance', async () => {
    const [a, b] = await startTwo()
    const user = roundRobin(a, b)
    const result = await signIn(user, DEV_EMAIL, DEV_PASSWORD)
    expect(result.ok, `the steps:\n${user.steps.join('\n')}`).toBe(true)
    if (!result.ok) return
    expect(result.path).toBe('/dashboard')
    expect(result.res.status).toBe(200)
    const session = await api(user, address(a), '/session')
    expect(session.status).toBe(200)
    expect(await session.json()).toMatchObject({ account: { email: DEV_EMAIL } })
    // Each step alternated: the login redirect, the authorization request, the sign-in page, the
    // posted password, the resumed authorization, the callback and the dashboard.
    expect(user.sentTo.length).toBeGreaterThanOrEqual(6)
    expect(new Set(user.sentTo)).toEqual(new Set([address(a), address(b)]))
  })

  it('answers a wrong password on the other instance with 401, and signs in afterwards', async () => {
    const [a, b] = await startTwo()
    const user = roundRobin(a, b)
    const failed = await signIn(user, DEV_EMAIL, 'not-the-password')
    expect(failed.ok).toBe(false)
    expect(failed.res.status).toBe(401)
    expect((await signIn(user, DEV_EMAIL, DEV_PASSWORD)).ok).toBe(true)
  })

  it('completes the device flow of `login` with its calls and the user\'s pages alternating between instances', async () => {
    const [a, b] = await startTwo()
    const { saved, cli, user } = await loginAlternating(a, b, 50)
    expect(saved.account.email).toBe(DEV_EMAIL)
    expect(new Set(cli.sentTo)).toEqual(new Set([address(a), address(b)]))
    expect(new Set(user.sentTo)).toEqual(new Set([address(a), address(b)]))
    for (const emulator of [a, b]) {
      const keys = await fetch(`${address(emulator)}/api/v1/keys`, { headers: { Authorization: `Bearer ${saved.accessToken}` } })
      expect(keys.status).toBe(200)
    }
  })
})

/**
 * `login`'s device flow against the shared issuer, its calls alternating between `a` and `b` and
 * polling every `pollMs`, while the user's pages alternate the other way (the device code made on
 * one instance, its page opened on the other first). Fails with each step taken when it does not
 * complete.
 */
async function loginAlternating(a: RunningServer, b: RunningServer, pollMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'eyepop-login-'))
  dirs.push(dir)
  const cli = roundRobinFetch(a, b)
  let complete = ''
  const login = deviceLogin({
    url: ISSUER,
    credentialsFile: join(dir, 'credentials.json'),
    prompt: (_uri, _code, c) => (complete = c),
    fetch: cli,
    sleep: () => new Promise((resolve) => setTimeout(resolve, pollMs)),
  })
  // Awaited below; a failure before then is reported there, not as an unhandled rejection.
  login.catch(() => undefined)
  await expect.poll(() => complete, { timeout: 5000 }).not.toBe('')
  const user = roundRobin(b, a)
  const page = await approve(user, complete, DEV_PASSWORD)
  expect(page, `the user's steps:\n${user.steps.join('\n')}`).toContain('You are signed in')
  const saved = await login.catch((err: unknown) => {
    throw new Error(`${String(err)}; the command's calls:\n${cli.steps.join('\n')}`, { cause: err })
  })
  return { saved, cli, user }
}

describe('the device flow while a sign-in is being saved', () => {
  it('does not fail the command that polls between the approval of its code and the save of the sign-in session', async () => {
    // oidc-provider saves the approved device code, renders the page, then saves the session: the
    // session writes are slowed so that the command's polls, on both instances, fall in between.
    const stores: EmulatorStore[] = []
    const slowSessions = async () => {
      const store = await createPostgresEmulatorStore({ connectionString: pg.databaseUrl })
      stores.push(store)
      const upsert = store.oidc.upsert.bind(store.oidc)
      store.oidc.upsert = async (model, id, payload, expiresIn) => {
        if (model === 'Session') await new Promise((resolve) => setTimeout(resolve, 300))
        return upsert(model, id, payload, expiresIn)
      }
      return store
    }
    try {
      const config = { databaseUrl: pg.databaseUrl, issuer: ISSUER, revocationPollMs: 20 }
      const a = await startTestServer(config, { store: await slowSessions() })
      running.push(a)
      const b = await startTestServer(config, { store: await slowSessions() })
      running.push(b)
      const { saved } = await loginAlternating(a, b, 20)
      expect(saved.account.email).toBe(DEV_EMAIL)
    } finally {
      for (const emulator of running.splice(0)) await ('stop' in emulator ? emulator.stop() : emulator.close())
      for (const store of stores) await store.close()
    }
  })
})

describe('a dashboard session across instances', () => {
  it('works on the other instance (a page, the API with its CSRF token), and signing out on one ends it on both', async () => {
    const [a, b] = await startTwo()
    let to = a
    const user = browser(() => address(to))
    expect((await signIn(user, DEV_EMAIL, DEV_PASSWORD)).ok).toBe(true)
    const { csrfToken } = (await (await api(user, address(a), '/session')).json()) as { csrfToken: string }
    // The session's cookies and oidc-provider's, to replay once signed out.
    const cookies = new Map(user.cookies)
    expect(cookies.has('eyepop_session')).toBe(true)

    to = b
    const page = await user.request('/dashboard/keys')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const session = await api(user, address(b), '/session')
    expect(session.status).toBe(200)
    expect(((await session.json()) as { csrfToken: string }).csrfToken).toBe(csrfToken)
    const created = await api(user, address(b), '/keys', { method: 'POST', headers: { 'X-CSRF-Token': csrfToken }, json: { name: 'from b', expires: '7d' } })
    expect(created.status).toBe(201)
    const refused = await api(user, address(b), '/keys', { method: 'POST', headers: { 'X-CSRF-Token': 'wrong' }, json: { name: 'no csrf' } })
    expect(refused.status).toBe(403)
    const listed = (await (await api(user, address(a), '/keys')).json()) as { keys: { name: string }[] }
    expect(listed.keys.map((k) => k.name)).toEqual(['from b'])

    // Signed out on B (which did not start the session): it ends on A too.
    const out = await user.request('/dashboard/logout', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrfToken }),
    })
    expect(out.status).toBe(303)
    // The old cookies, replayed on each instance: both sessions are gone from the database, so
    // the dashboard API refuses them and a visit asks for the password again.
    for (const emulator of [a, b]) {
      const replay = browser(address(emulator))
      for (const [name, value] of cookies) replay.cookies.set(name, value)
      expect((await api(replay, address(emulator), '/session')).status).toBe(401)
      const again = await follow(replay, '/dashboard')
      expect(again.path).toMatch(/^\/interaction\//)
      expect(await again.res.text()).toContain('name="password"')
    }
  })
})

describe('signing keys across instances', () => {
  it('after a rotation on one, verify on both the tokens issued before it, and those either issues after', async () => {
    const [a, b] = await startTwo()
    const { services } = a.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'rotation', expires: 'never' })
    const before = [await accessToken(address(a), created.key), await accessToken(address(b), created.key)]
    const oldKid = a.emulator.keyring.signingKey.kid
    expect(b.emulator.keyring.signingKey.kid).toBe(oldKid)

    const rotated = await a.emulator.keyring.rotate()
    expect(rotated.kid).not.toBe(oldKid)
    const fromA = await accessToken(address(a), created.key)
    expect(decodeProtectedHeader(fromA).kid).toBe(rotated.kid)
    // B learns of the new key from the first token it sees signed with it.
    expect(await tokenStatus(address(b), fromA)).toBe(200)
    const fromB = await accessToken(address(b), created.key)
    expect(decodeProtectedHeader(fromB).kid).toBe(rotated.kid)
    for (const token of [...before, fromA, fromB]) {
      for (const emulator of [a, b]) expect(await tokenStatus(address(emulator), token)).toBe(200)
    }
    // Both publish the old key (until its tokens expire) and the new one.
    for (const emulator of [a, b]) {
      const jwks = (await (await fetch(`${address(emulator)}/jwks`)).json()) as { keys: { kid: string }[] }
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort())
    }
  })

  it('verify on one the tokens the other issues after a rotation it has not seen a token of', async () => {
    const [a, b] = await startTwo()
    const { services } = a.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'rotation', expires: 'never' })
    await a.emulator.keyring.rotate()
    // B has not re-read the keys: what it issues now is signed with the retired key, which both
    // still trust; what A issues, B verifies by re-reading them.
    const fromB = await accessToken(address(b), created.key)
    const fromA = await accessToken(address(a), created.key)
    for (const token of [fromB, fromA]) {
      for (const emulator of [a, b]) expect(await tokenStatus(address(emulator), token)).toBe(200)
    }
  })
})

describe('signing keys rotated on both instances at once', () => {
  it('leave every token either issues verifying on both, and both signing with one key once they re-read', async () => {
    const [a, b] = await startTwo()
    const { services } = a.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'rotation', expires: 'never' })
    const before = await accessToken(address(a), created.key)
    // Each creates its key and retires every other: one may retire the other's new key, or both
    // keys may end retired, when the next read makes a key of its own.
    await Promise.all([a.emulator.keyring.rotate(), b.emulator.keyring.rotate()])
    const after = [await accessToken(address(a), created.key), await accessToken(address(b), created.key)]
    for (const token of [before, ...after]) {
      for (const emulator of [a, b]) expect(await tokenStatus(address(emulator), token)).toBe(200)
    }
    await Promise.all([a.emulator.keyring.reload(), b.emulator.keyring.reload()])
    expect(a.emulator.keyring.signingKey.kid).toBe(b.emulator.keyring.signingKey.kid)
    const live = (await a.emulator.services.store.signingKeys.list()).filter((k) => k.retiredAt === null)
    expect(live.map((k) => k.kid)).toContain(a.emulator.keyring.signingKey.kid)
    const fromB = await accessToken(address(b), created.key)
    expect(decodeProtectedHeader(fromB).kid).toBe(a.emulator.keyring.signingKey.kid)
    expect(await tokenStatus(address(a), fromB)).toBe(200)
  })
})

describe('signing keys across instances, a day on', () => {
  it('an instance that saw no token of the new key signs with it soon after the rotation, before the retired key stops verifying', async () => {
    // One clock for both, moved forward by the test.
    let clock = Date.now()
    const now = () => clock
    const config = { databaseUrl: pg.databaseUrl, issuer: ISSUER, revocationPollMs: 20 }
    const a = await startTestServer(config, { now })
    running.push(a)
    const b = await startTestServer(config, { now })
    running.push(b)
    const { services } = a.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'rotation', expires: 'never' })
    const rotated = await a.emulator.keyring.rotate()
    // A day and a minute later, the retired key no longer verifies anywhere; the revocation lists
    // have polled since the move.
    clock += 86_400_000 + 60_000
    await new Promise((resolve) => setTimeout(resolve, 100))
    const fromB = await accessToken(address(b), created.key)
    expect(decodeProtectedHeader(fromB).kid).toBe(rotated.kid)
    for (const emulator of [a, b]) expect(await tokenStatus(address(emulator), fromB)).toBe(200)
  })
})

describe('the key limit across instances', () => {
  const LIMIT = 4

  it('holds across instances: a key over the limit is refused on either, with 409 limit_exceeded', async () => {
    const [a, b] = await startTwo({ maxKeysPerAccount: LIMIT })
    const user = roundRobin(a, b)
    expect((await signIn(user, DEV_EMAIL, DEV_PASSWORD)).ok).toBe(true)
    const { csrfToken } = (await (await api(user, address(a), '/session')).json()) as { csrfToken: string }
    const create = (emulator: RunningServer, name: string) =>
      api(user, address(emulator), '/keys', { method: 'POST', headers: { 'X-CSRF-Token': csrfToken }, json: { name, expires: 'never' } })
    for (let i = 0; i < LIMIT; i++) expect((await create(i % 2 === 0 ? a : b, `key ${i}`)).status).toBe(201)
    for (const emulator of [a, b]) {
      const refused = await create(emulator, 'one too many')
      expect(refused.status).toBe(409)
      expect(await refused.json()).toMatchObject({ error: 'limit_exceeded' })
    }
  })

  it('holds when creations race on both instances: twice the limit at once leaves exactly the limit', async () => {
    const [a, b] = await startTwo({ maxKeysPerAccount: LIMIT })
    const user = roundRobin(a, b)
    expect((await signIn(user, DEV_EMAIL, DEV_PASSWORD)).ok).toBe(true)
    const { csrfToken } = (await (await api(user, address(a), '/session')).json()) as { csrfToken: string }
    // Several rounds: each starts from no key, and sends 2 × LIMIT creations at once, half to each.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        Array.from({ length: 2 * LIMIT }, async (_, i) => {
          const res = await api(user, address(i % 2 === 0 ? a : b), '/keys', {
            method: 'POST',
            headers: { 'X-CSRF-Token': csrfToken },
            json: { name: `race ${round}.${i}`, expires: 'never' },
          })
          return { status: res.status, body: (await res.json()) as { id?: string; error?: string } }
        }),
      )
      expect(answers.map((r) => r.status).sort()).toEqual([...Array(LIMIT).fill(201), ...Array(LIMIT).fill(409)])
      expect(answers.filter((r) => r.status === 409).every((r) => r.body.error === 'limit_exceeded')).toBe(true)
      const listed = (await (await api(user, address(b), '/keys')).json()) as { keys: { id: string; status: string }[] }
      const live = listed.keys.filter((k) => k.status === 'active')
      expect(live).toHaveLength(LIMIT)
      for (const key of live) {
        const deleted = await api(user, address(a), `/keys/${key.id}`, { method: 'DELETE', headers: { 'X-CSRF-Token': csrfToken } })
        expect(deleted.status).toBe(204)
      }
    }
  })
})

describe('the limits kept in memory', () => {
  it('hold per instance: --max-sessions-per-account counts the compute sessions each instance keeps', async () => {
    const [a, b] = await startTwo({ maxSessionsPerAccount: 1 })
    const { services } = a.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'sessions', expires: 'never' })
    const open = async (emulator: RunningServer) => {
      const res = await fetch(`${address(emulator)}/v1/sessions`, { method: 'POST', headers: { Authorization: `Bearer ${created.key}` } })
      return { status: res.status, body: (await res.json()) as unknown }
    }
    expect((await open(a)).status).toBe(200)
    const refused = await open(a)
    expect(refused.status).toBe(409)
    expect(refused.body).toMatchObject({ error: 'limit_exceeded' })
    // The other instance keeps its own sessions, and its own count of them.
    expect((await open(b)).status).toBe(200)
    expect((await open(b)).status).toBe(409)
  })
})

/**
 * The CLI on the case's database, on a free port, with the shared issuer and room for a burst of
 * keys. It prints where it listens, not the issuer, so the test can reach it directly.
 */
async function startProcess(keys: number): Promise<{ emulator: EmulatorProcess; url: string }> {
  const emulator = await startEmulatorProcess(
    ['--host', '127.0.0.1', '--issuer', ISSUER, '--revocation-poll-ms', '20', '--max-keys-per-account', String(keys)],
    { EYEPOP_EMULATOR_DATABASE_URL: pg.databaseUrl },
  )
  running.push(emulator)
  expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  expect(emulator.url).not.toBe(ISSUER)
  const discovery = await fetch(`${emulator.url}/.well-known/openid-configuration`)
  expect(((await discovery.json()) as { issuer: string }).issuer).toBe(ISSUER)
  return { emulator, url: emulator.url }
}

describe('a kill -9 of one instance during a burst of key creations on it', () => {
  const BURST = 200
  const IN_FLIGHT = 16
  const KILL_AFTER = 60

  it('loses no acknowledged key (each authenticates on the other), and the other answers every request, during and after', async () => {
    const [first, second] = await Promise.all([startProcess(BURST + 10), startProcess(BURST + 10)])
    const a = first.url
    const b = second.url
    // A dashboard session started on A; B serves it too.
    const user = browser(a)
    expect((await signIn(user, DEV_EMAIL, DEV_PASSWORD)).ok).toBe(true)
    const { csrfToken } = (await (await api(user, a, '/session')).json()) as { csrfToken: string }
    const createOn = (base: string, name: string) =>
      api(user, base, '/keys', { method: 'POST', headers: { 'X-CSRF-Token': csrfToken }, json: { name, expires: 'never' } })

    const seed = await createOn(a, 'before the burst')
    expect(seed.status).toBe(201)
    const seedKey = (await seed.json()) as { id: string; key: string }
    const issuedByA = await accessToken(a, seedKey.key)

    // B's load while A dies: a key exchange and a call with its token, one after the other.
    const onB: string[] = []
    let probing = true
    const probe = (async () => {
      while (probing) {
        try {
          const token = await accessToken(b, seedKey.key)
          const status = await tokenStatus(b, token)
          onB.push(status === 200 ? 'ok' : `GET /v1/sessions ${status}`)
        } catch (err) {
          onB.push(String(err))
        }
      }
    })()

    try {
      const burst = await createKeysUntilKilled({
        burst: BURST,
        inFlight: IN_FLIGHT,
        killAfter: KILL_AFTER,
        create: (name) => createOn(a, name),
        kill: () => first.emulator.child.kill('SIGKILL'),
      })
      const acknowledged = [seedKey, ...burst.acknowledged]
      const { refused } = burst
      if (first.emulator.child.signalCode === null && first.emulator.child.exitCode === null) {
        await new Promise((resolve) => first.emulator.child.once('exit', resolve))
      }
      expect(first.emulator.child.signalCode).toBe('SIGKILL')
      expect(refused).toEqual([])
      expect(acknowledged.length).toBeGreaterThan(KILL_AFTER)
      expect(acknowledged.length).toBeLessThan(BURST)

      // On B: every acknowledged key is listed and authenticates, and A's token verifies.
      const listed = new Set(((await (await api(user, b, '/keys')).json()) as { keys: { id: string }[] }).keys.map((k) => k.id))
      expect(acknowledged.filter((k) => !listed.has(k.id)).map((k) => k.id)).toEqual([])
      const exchanged = await inBatches(acknowledged, IN_FLIGHT, async (k) => {
        const res = await fetch(`${b}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${k.key}` } })
        await res.body?.cancel()
        return { id: k.id, status: res.status }
      })
      expect(exchanged.filter((e) => e.status !== 200)).toEqual([])
      expect(await tokenStatus(b, issuedByA)).toBe(200)
      // B still creates keys for the session A started.
      expect((await createOn(b, 'after the kill')).status).toBe(201)
    } finally {
      probing = false
      await probe
    }
    expect(onB.length).toBeGreaterThan(0)
    expect(onB.filter((answer) => answer !== 'ok')).toEqual([])
    expect(second.emulator.output()).not.toMatch(/error/i)
  }, 60_000)
})
