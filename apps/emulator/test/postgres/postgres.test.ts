/**
 * The emulator on PostgreSQL (`databaseUrl`, issue 16): the key flow with a key the CLI manages in
 * the same database, and two emulators on one database, which is what the option is for: a key
 * created through one authenticates at once on the other, and a key deleted through one is refused
 * by the other within a second (its revocation list polls the shared feed). The database is a
 * throwaway server of the tests' own, a database per case; the tests fail, never skip, where
 * PostgreSQL is not installed.
 */
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { RunningServer } from '../../src/main.js'
import { runCli, runCliJson, startEmulatorProcess, type EmulatorProcess } from '../e2e/process.js'
import { startTestServer } from '../helpers.js'
import { useDatabasePerCase } from './database-per-case.js'

/** The server, and a new database's URL over TCP, with the password, as a user would give it. */
const pg = useDatabasePerCase()
const running: Array<RunningServer | EmulatorProcess> = []

afterEach(async () => {
  for (const emulator of running.splice(0)) {
    await ('stop' in emulator ? emulator.stop() : emulator.close())
  }
})

/**
 * An emulator in this process on the case's database. Instances behind one address share their
 * issuer (`--issuer`, the address clients use): the `iss` their tokens carry and check.
 */
async function startOnDatabase(): Promise<RunningServer> {
  const emulator = await startTestServer({ databaseUrl: pg.databaseUrl, issuer: 'http://127.0.0.1:8700', revocationPollMs: 20 })
  running.push(emulator)
  return emulator
}

/** Where an emulator listens (its `url` is the shared issuer). */
function address(emulator: RunningServer): string {
  return `http://127.0.0.1:${(emulator.server.address() as AddressInfo).port}`
}

function authenticate(emulator: RunningServer, key: string) {
  return request(address(emulator)).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`)
}

/** Polls `check` every 20 ms until it resolves true, failing after `withinMs`. */
async function within(withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await check()) return Date.now() - start
    if (Date.now() - start > withinMs) throw new Error(`not within ${withinMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('an emulator started with databaseUrl', () => {
  it('authenticates a key the CLI created with --database-url, and refuses it once the CLI deleted it', async () => {
    const emulator = await startOnDatabase()
    const created = await runCliJson<{ id: string; key: string }>(['keys', 'create', '--name', 'pg', '--database-url', pg.databaseUrl])
    const res = await authenticate(emulator, created.key).expect(200)
    expect(res.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) })
    expect((await runCliJson<Array<{ id: string }>>(['keys', 'list', '--database-url', pg.databaseUrl])).map((k) => k.id)).toEqual([
      created.id,
    ])

    const deleted = await runCli(['keys', 'delete', created.id, '--database-url', pg.databaseUrl])
    expect(deleted.code).toBe(0)
    const refused = await authenticate(emulator, created.key)
    expect(refused.status).toBe(401)
    expect(refused.body).toMatchObject({ error: 'invalid_client' })
  })

  it('keeps its store in the database, both components migrated, and cannot be reset', async () => {
    const emulator = await startOnDatabase()
    await expect(emulator.reset()).rejects.toThrow('only an emulator with its own in-memory store can be reset')
    expect((await pg.server.sql(new URL(pg.databaseUrl).pathname.slice(1), 'SELECT component FROM schema_migrations ORDER BY component')).rows).toEqual([
      { component: 'auth-core' },
      { component: 'emulator' },
    ])
  })
})

describe('eyepop-emulator start --database-url', () => {
  it('names the database it uses without the password, and takes it from EYEPOP_EMULATOR_DATABASE_URL too', async () => {
    for (const [args, env] of [
      [['--database-url', pg.databaseUrl], {}],
      [[], { EYEPOP_EMULATOR_DATABASE_URL: pg.databaseUrl }],
    ] as const) {
      const emulator = await startEmulatorProcess([...args], env)
      running.push(emulator)
      await within(5000, async () => emulator.output().includes('Create a key and a Pop'))
      const database = new URL(pg.databaseUrl).pathname.slice(1)
      expect(emulator.output()).toContain(`store:    postgres://postgres@127.0.0.1:${pg.server.port}/${database}`)
      expect(emulator.output()).not.toContain(pg.server.password)
      await emulator.stop()
    }
  })

  it('refuses --memory with it', async () => {
    const result = await runCli(['start', '--memory', '--database-url', pg.databaseUrl])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain("option '--database-url <URL>' cannot be used with option '--memory'")
  })
})

describe('two emulators started one after the other on a new database', () => {
  it('verify on one the tokens the other issues', async () => {
    // The first start creates the signing key; the later ones find it. (Started at the same moment
    // on a new database, each may create one of its own, and refuse the other's tokens until a
    // restart: see the README.)
    const first = await startOnDatabase()
    const second = await startOnDatabase()
    const { services } = first.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'shared', expires: 'never' })
    for (const [issuer, verifier] of [[first, second], [second, first]] as const) {
      const { access_token: token } = (await authenticate(issuer, created.key).expect(200)).body as { access_token: string }
      expect((await request(address(verifier)).get('/v1/sessions').set('Authorization', `Bearer ${token}`)).status).toBe(200)
    }
  })
})

describe('two emulators on one database', () => {
  let one: RunningServer
  let other: RunningServer

  beforeEach(async () => {
    // Started together: the first start migrates, the other waits for it, then finds it done.
    ;[one, other] = await Promise.all([startOnDatabase(), startOnDatabase()])
  })

  it('share the default account', () => {
    expect(other.emulator.services.defaultAccount.id).toBe(one.emulator.services.defaultAccount.id)
  })

  it('authenticate on one, at once, a key created through the other', async () => {
    const { services } = one.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'shared', expires: 'never' })
    const res = await authenticate(other, created.key).expect(200)
    const sessions = await request(address(other)).get('/v1/sessions').set('Authorization', `Bearer ${res.body.access_token}`)
    expect(sessions.status).toBe(200)
  })

  it('refuse on one, within a second, a key deleted through the other, and the tokens it issued for it', async () => {
    const { services } = one.emulator
    const created = await services.keys.create(services.defaultAccount.id, { name: 'deleted', expires: 'never' })
    const token = (await authenticate(other, created.key).expect(200)).body.access_token as string
    await services.keys.delete(services.defaultAccount.id, created.id)
    const refused = await authenticate(other, created.key)
    expect(refused.status).toBe(401)
    expect(refused.body).toMatchObject({ error: 'invalid_client' })
    const elapsed = await within(1000, async () => {
      const res = await request(address(other)).get('/v1/sessions').set('Authorization', `Bearer ${token}`)
      return res.status === 401
    })
    expect(elapsed).toBeLessThan(1000)
  })
})

describe('a database restart', () => {
  it('answers 503 with Retry-After while the database is down (no hang, no 500, no detail), and serves again by itself once it is back', async () => {
    const emulator = await startOnDatabase()
    const { services } = emulator.emulator
    const used = await services.keys.create(services.defaultAccount.id, { name: 'before', expires: 'never' })
    // A key never looked up before: its lookup must reach the database.
    const fresh = await services.keys.create(services.defaultAccount.id, { name: 'during', expires: 'never' })
    expect((await authenticate(emulator, used.key)).status).toBe(200)
    await pg.server.stop()
    try {
      const asked = Date.now()
      const down = await authenticate(emulator, fresh.key)
      expect(Date.now() - asked).toBeLessThan(10_000)
      expect(down.status).toBe(503)
      expect(down.headers['retry-after']).toBe('1')
      expect(down.body).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'the key store is not available; try again shortly',
        message: 'the key store is not available; try again shortly',
      })
    } finally {
      await pg.server.start()
    }
    // The pool connects anew: no restart of the emulator.
    await vi.waitFor(async () => expect((await authenticate(emulator, fresh.key)).status).toBe(200), { timeout: 20_000, interval: 250 })
  }, 60_000)
})
