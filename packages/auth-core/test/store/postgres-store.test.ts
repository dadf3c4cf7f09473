import { createServer, type AddressInfo, type Socket } from 'node:net'
import pg from 'pg'
import { startPostgresServer, type PostgresServer } from '@eyepop/real-sdks/testing/postgres-server'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createPostgresStore,
  inPostgresTransaction,
  migratePostgres,
  queryPostgres,
  type PostgresKeyStore,
  type PostgresMigrations,
} from '../../src/store/postgres-store.js'
import type { ApiKeyRecord } from '../../src/store/types.js'

/**
 * What only the PostgreSQL store promises: several instances (pools) on one database, migrations
 * run once under a lock, and failures of the database as `StoreError`, never a hang, never the
 * password.
 */

const T0 = Date.UTC(2025, 0, 15, 12)
const ALICE = '11111111-1111-4111-8111-111111111111'

let started: Promise<PostgresServer>
let server: PostgresServer
const open: PostgresKeyStore[] = []

beforeAll(() => {
  started = startPostgresServer()
  started.catch(() => {})
})

// Each case waits for the server: where it cannot start, every case fails with its reason.
beforeEach(async () => {
  server = await started
}, 60_000)

afterEach(async () => {
  for (const store of open.splice(0)) await store.close()
})

afterAll(async () => {
  await server?.close()
})

async function openStore(database: string, options: { migrations?: PostgresMigrations[] } = {}): Promise<PostgresKeyStore> {
  const store = await createPostgresStore({ connectionString: server.url(database), now: () => T0, ...options })
  open.push(store)
  return store
}

function apiKey(id: string): ApiKeyRecord {
  return {
    id,
    accountId: ALICE,
    name: `key ${id}`,
    hash: `hash-${id}`,
    hint: 'abcd',
    createdAt: T0,
    expiresAt: null,
    lastUsedAt: null,
    deletedAt: null,
  }
}

async function componentVersions(database: string): Promise<Record<string, number>> {
  const { rows } = await server.sql(database, 'SELECT component, version FROM schema_migrations')
  return Object.fromEntries(rows.map((row: { component: string; version: number }) => [row.component, row.version]))
}

describe('createPostgresStore', () => {
  describe('lookups by hash issued in one turn of the event loop', () => {
    it('are one query, and answer each with its own key or undefined, whatever the mix (repeats included)', async () => {
      const store = await openStore(await server.createDatabase())
      const keys = Array.from({ length: 20 }, (_, i) => ({ ...apiKey(`key_${i}`), lastUsedAt: i % 3 ? T0 + i : null }))
      for (const k of keys) await store.apiKeys.create(k)
      const wanted = [...keys.flatMap((k, i) => [k.hash, `missing-${i}`]).reverse(), keys[3]!.hash]
      const queries: string[] = []
      const poolQuery = store.pool.query.bind(store.pool) as (...args: unknown[]) => unknown
      const spy = vi.spyOn(store.pool, 'query').mockImplementation(((config: { name?: string }, ...rest: unknown[]) => {
        queries.push(config.name ?? '')
        return poolQuery(config, ...rest)
      }) as never)
      try {
        const found = await Promise.all(wanted.map((hash) => store.apiKeys.findByHash(hash)))
        expect(found).toEqual(wanted.map((hash) => keys.find((k) => k.hash === hash)))
        expect(queries).toEqual(['auth-core/keys-by-hash'])
        // A lookup alone in its turn is the single-key statement.
        expect(await store.apiKeys.findByHash(keys[7]!.hash)).toEqual(keys[7])
        expect(queries).toEqual(['auth-core/keys-by-hash', 'auth-core/key-by-hash'])
      } finally {
        spy.mockRestore()
      }
    })

    it('answers lookups pending at close, and refuses new ones after it', async () => {
      const store = await createPostgresStore({ connectionString: server.url(await server.createDatabase()), now: () => T0 })
      await store.apiKeys.create(apiKey('key_a'))
      const pending = [store.apiKeys.findByHash('hash-key_a'), store.apiKeys.findByHash('hash-nope')]
      await store.close()
      expect(await Promise.all(pending)).toEqual([apiKey('key_a'), undefined])
      await expect(store.apiKeys.findByHash('hash-key_a')).rejects.toMatchObject({ code: 'ERR_STORE' })
    })

    it('reject together with StoreError when the batch fails', async () => {
      const store = await openStore(await server.createDatabase())
      vi.spyOn(store.pool, 'query').mockRejectedValueOnce(Object.assign(new Error('connection terminated'), { code: '57P01' }) as never)
      const results = await Promise.allSettled([store.apiKeys.findByHash('hash-a'), store.apiKeys.findByHash('hash-b')])
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
      expect(results.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['ERR_STORE', 'ERR_STORE'])
    })
  })

  describe('with two instances on one database', () => {
    it('each sees the other\'s writes at once', async () => {
      const database = await server.createDatabase()
      const a = await openStore(database)
      const b = await openStore(database)
      await a.apiKeys.create(apiKey('key_a'))
      expect(await b.apiKeys.findByHash('hash-key_a')).toMatchObject({ id: 'key_a' })
      const start = await a.revocations.since(0)
      expect(await b.apiKeys.markDeleted('key_a', T0 + 1)).toBe(true)
      expect(await a.apiKeys.markDeleted('key_a', T0 + 2)).toBe(false)
      expect((await a.revocations.since(start.cursor)).revoked).toEqual([{ id: 'key_a', deletedAt: T0 + 1 }])
      expect(await a.settings.setIfAbsent('pepper', 'from-a')).toBe('from-a')
      expect(await b.settings.setIfAbsent('pepper', 'from-b')).toBe('from-a')
    })

    it('refuses a key created twice through both with ERR_CONFLICT', async () => {
      const database = await server.createDatabase()
      const [a, b] = await Promise.all([openStore(database), openStore(database)])
      const results = await Promise.allSettled([a.apiKeys.create(apiKey('key_a')), b.apiKeys.create(apiKey('key_a'))])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ERR_CONFLICT' } })
    })

    it('gives a poller every revocation appended concurrently through both, none skipped', async () => {
      const database = await server.createDatabase()
      const [a, b, reader] = await Promise.all([openStore(database), openStore(database), openStore(database)])
      const seen: string[] = []
      let cursor = 0
      let writing = true
      const poll = (async () => {
        for (;;) {
          const done = !writing
          const page = await reader.revocations.since(cursor)
          seen.push(...(page.revokedTokens ?? []).map((t) => t.jti))
          cursor = page.cursor
          if (done && !page.more) return
        }
      })()
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).revocations.revokeToken(`jti-${i}`, T0 + 60_000, T0)),
      )
      writing = false
      await poll
      expect(seen.sort()).toEqual(Array.from({ length: 200 }, (_, i) => `jti-${i}`).sort())
    })

    it('records overlapping batches of last uses through both at once without a deadlock', async () => {
      const database = await server.createDatabase()
      const [a, b] = await Promise.all([openStore(database), openStore(database)])
      // Enough keys that the planner reads the batch's keys through the index, in batch order.
      await a.pool.query(
        `INSERT INTO api_keys (id, account_id, name, hash, hint, created_at)
         SELECT 'key_' || lpad(n::text, 5, '0'), $1, 'k', 'hash-' || n, 'abcd', $2 FROM generate_series(0, 19999) AS n`,
        [ALICE, T0],
      )
      await a.pool.query('ANALYZE api_keys')
      const ids = Array.from({ length: 10 }, (_, i) => `key_${String(i * 7).padStart(5, '0')}`)
      for (let round = 1; round <= 100; round++) {
        // The same keys in opposite orders: row locks taken in batch order would deadlock.
        await Promise.all([
          a.apiKeys.recordUse(ids.map((id) => ({ id, at: T0 + round }))),
          b.apiKeys.recordUse(ids.toReversed().map((id) => ({ id, at: T0 + round }))),
        ])
      }
      const { rows } = await a.pool.query('SELECT DISTINCT last_used_at::float8 AS at FROM api_keys WHERE id = ANY($1)', [ids])
      expect(rows).toEqual([{ at: T0 + 100 }])
    })
  })

  describe('migrations', () => {
    it('run once when instances start at once on a new database', async () => {
      const database = await server.createDatabase()
      // Each run of this migration adds a row: more than one row means it ran more than once.
      const counted: PostgresMigrations = {
        component: 'counted-app',
        migrations: ['CREATE TABLE IF NOT EXISTS runs (at TIMESTAMPTZ NOT NULL DEFAULT now()); INSERT INTO runs DEFAULT VALUES'],
      }
      const stores = await Promise.all(Array.from({ length: 5 }, () => openStore(database, { migrations: [counted] })))
      expect(stores).toHaveLength(5)
      expect(await componentVersions(database)).toEqual({ 'auth-core': 1, 'counted-app': 1 })
      expect((await server.sql(database, 'SELECT count(*)::int AS n FROM runs')).rows[0]).toEqual({ n: 1 })
    })

    it('migrate an application\'s component through migratePostgres, appending only what is new', async () => {
      const database = await server.createDatabase()
      const store = await openStore(database)
      const notes: PostgresMigrations = { component: 'notes-app', migrations: ['CREATE TABLE notes (id BIGINT PRIMARY KEY)'] }
      await migratePostgres(store.pool, notes)
      await migratePostgres(store.pool, notes)
      await migratePostgres(store.pool, { ...notes, migrations: [...notes.migrations, 'ALTER TABLE notes ADD COLUMN body TEXT'] })
      expect(await componentVersions(database)).toEqual({ 'auth-core': 1, 'notes-app': 2 })
      await store.pool.query("INSERT INTO notes (id, body) VALUES (1, 'x')")
    })

    it('leave nothing behind when one fails', async () => {
      const database = await server.createDatabase()
      const store = await openStore(database)
      const broken: PostgresMigrations = { component: 'broken-app', migrations: ['CREATE TABLE kept (id INT)', 'SELECT * FROM missing'] }
      await expect(migratePostgres(store.pool, broken)).rejects.toMatchObject({
        code: 'ERR_STORE',
        message: 'migration 2 of broken-app failed: relation "missing" does not exist',
      })
      expect(await componentVersions(database)).toEqual({ 'auth-core': 1 })
      expect((await server.sql(database, "SELECT to_regclass('kept') AS t")).rows[0]).toEqual({ t: null })
    })

    it('refuse a database migrated by newer software with ERR_STORE, leaving it as it was', async () => {
      const database = await server.createDatabase()
      await (await openStore(database)).close()
      await server.sql(database, "UPDATE schema_migrations SET version = 99 WHERE component = 'auth-core'")
      await expect(createPostgresStore({ connectionString: server.url(database) })).rejects.toMatchObject({
        code: 'ERR_STORE',
        message: 'database schema of auth-core is at version 99, newer than this software supports (1)',
      })
      expect(await componentVersions(database)).toEqual({ 'auth-core': 99 })
    })
  })

  describe('with a pool of the application', () => {
    it('queries through it and leaves it open at close', async () => {
      const database = await server.createDatabase()
      const pool = new pg.Pool({ connectionString: server.url(database) })
      try {
        const store = await createPostgresStore({ pool })
        expect(store.pool).toBe(pool)
        expect(store.description).toBe(`postgres://postgres@127.0.0.1:${server.port}/${database}`)
        await store.apiKeys.create(apiKey('key_a'))
        await store.close()
        expect((await pool.query('SELECT count(*)::int AS n FROM api_keys')).rows[0]).toEqual({ n: 1 })
      } finally {
        await pool.end()
      }
    })
  })

  describe('queryPostgres() on the application\'s tables', () => {
    const notes: PostgresMigrations = {
      component: 'notes-app',
      migrations: [
        `CREATE TABLE authors (id TEXT PRIMARY KEY);
         CREATE TABLE notes (id BIGINT PRIMARY KEY, author TEXT NOT NULL REFERENCES authors(id), at BIGINT NOT NULL)`,
      ],
    }

    it('in inPostgresTransaction(), commits what fn wrote, and rolls back and rethrows, as it is, what fn throws', async () => {
      const store = await openStore(await server.createDatabase(), { migrations: [notes] })
      await inPostgresTransaction(store.pool, async (client) => {
        await queryPostgres(client, { text: "INSERT INTO authors (id) VALUES ('ada')" })
      })
      class Refused extends Error {}
      const refused = new Refused('not this one')
      await expect(
        inPostgresTransaction(store.pool, async (client) => {
          await queryPostgres(client, { text: "INSERT INTO authors (id) VALUES ('bob')" })
          throw refused
        }),
      ).rejects.toBe(refused)
      const { rows } = await queryPostgres<{ id: string }>(store.pool, { text: 'SELECT id FROM authors ORDER BY id' })
      expect(rows.map((r) => r.id)).toEqual(['ada'])
    })

    it('reads bigint columns as numbers, leaving the pool\'s own parsers alone', async () => {
      const store = await openStore(await server.createDatabase(), { migrations: [notes] })
      await queryPostgres(store.pool, { text: "INSERT INTO authors (id) VALUES ('ann')" })
      await queryPostgres(store.pool, { text: 'INSERT INTO notes (id, author, at) VALUES ($1, $2, $3)', values: [1, 'ann', T0] })
      const { rows } = await queryPostgres<{ id: number; at: number }>(store.pool, { name: 'notes-read', text: 'SELECT id, at FROM notes' })
      expect(rows).toEqual([{ id: 1, at: T0 }])
      expect((await store.pool.query('SELECT at FROM notes')).rows).toEqual([{ at: String(T0) }])
    })

    it('rejects a duplicate with ERR_CONFLICT and a missing reference with ERR_NOT_FOUND, naming the record', async () => {
      const store = await openStore(await server.createDatabase(), { migrations: [notes] })
      await queryPostgres(store.pool, { text: "INSERT INTO authors (id) VALUES ('ann')" })
      await expect(queryPostgres(store.pool, { text: "INSERT INTO authors (id) VALUES ('ann')" }, 'author')).rejects.toMatchObject({
        code: 'ERR_CONFLICT',
        message: 'author already exists',
      })
      await expect(
        queryPostgres(store.pool, { text: "INSERT INTO notes (id, author, at) VALUES (1, 'bob', 0)" }, 'note'),
      ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', message: 'note refers to a record that does not exist' })
    })

    it('rejects any other failure with ERR_STORE', async () => {
      const store = await openStore(await server.createDatabase(), { migrations: [notes] })
      await expect(queryPostgres(store.pool, { text: 'SELECT * FROM missing' })).rejects.toMatchObject({
        code: 'ERR_STORE',
        message: 'the postgres store failed: SQLSTATE 42P01',
      })
    })
  })

  describe('when the database restarts', () => {
    it('fails calls with ERR_STORE while it is down, then recovers by itself', async () => {
      const database = await server.createDatabase()
      const store = await openStore(database)
      await store.apiKeys.create(apiKey('key_a'))
      await server.stop()
      try {
        const started = Date.now()
        await expect(store.apiKeys.findByHash('hash-key_a')).rejects.toMatchObject({ code: 'ERR_STORE' })
        await expect(store.apiKeys.markDeleted('key_a', T0)).rejects.toMatchObject({ code: 'ERR_STORE' })
        expect(Date.now() - started).toBeLessThan(5000)
      } finally {
        await server.start()
      }
      expect(await store.apiKeys.findByHash('hash-key_a')).toMatchObject({ id: 'key_a' })
      expect(await store.apiKeys.markDeleted('key_a', T0)).toBe(true)
    }, 60_000)
  })

  describe('when its connection is cut in the middle of a transaction', () => {
    it('fails the transaction with ERR_STORE, the process going on, and the next call gets another connection', async () => {
      const database = await server.createDatabase()
      const store = await openStore(database)
      // pg's client emits `error` when its connection ends; a client checked out of the pool has no
      // listener of the pool's, and an error event nothing listens to is thrown.
      const uncaught: unknown[] = []
      const onUncaught = (err: unknown) => uncaught.push(err)
      process.prependListener('uncaughtException', onUncaught)
      try {
        const cut = inPostgresTransaction(store.pool, async (client) => {
          await queryPostgres(client, { text: "SELECT pg_sleep(30), 'cut-me'" })
        })
        cut.catch(() => undefined)
        let pid = 0
        await vi.waitFor(async () => {
          const { rows } = await server.sql(database, "SELECT pid FROM pg_stat_activity WHERE query LIKE '%''cut-me''%' AND pid <> pg_backend_pid()")
          expect(rows).toHaveLength(1)
          pid = (rows[0] as { pid: number }).pid
        })
        await server.sql(database, `SELECT pg_terminate_backend(${pid})`)
        await expect(cut).rejects.toMatchObject({ code: 'ERR_STORE' })
        // The connection's end comes after the failed query: give it time to arrive.
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect(uncaught).toEqual([])
        await store.apiKeys.create(apiKey('key_after'))
        expect(await store.apiKeys.get('key_after')).toMatchObject({ id: 'key_after' })
      } finally {
        process.off('uncaughtException', onUncaught)
      }
    })
  })

  describe('when a query waits longer than queryTimeoutMs', () => {
    it('fails it with ERR_STORE and goes on with the next', async () => {
      const database = await server.createDatabase()
      const store = await createPostgresStore({ connectionString: server.url(database), queryTimeoutMs: 300 })
      open.push(store)
      const locker = new pg.Client({ connectionString: server.url(database) })
      await locker.connect()
      try {
        await locker.query('BEGIN')
        await locker.query('LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE')
        const started = Date.now()
        await expect(store.apiKeys.get('key_a')).rejects.toMatchObject({ code: 'ERR_STORE', message: 'the postgres store failed: query read timeout' })
        expect(Date.now() - started).toBeLessThan(3000)
        await locker.query('ROLLBACK')
        expect(await store.apiKeys.get('key_a')).toBeUndefined()
      } finally {
        await locker.end()
      }
    })
  })

  describe('when the database cannot be reached', () => {
    it('rejects a wrong password with ERR_STORE, without the password', async () => {
      const wrong = 'not-the-password-8c1f'
      const err = await createPostgresStore({ connectionString: server.url('postgres', { password: wrong }) }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'ERR_STORE', name: 'StoreError' })
      expect((err as Error).message).toMatch(/password authentication failed/)
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(wrong)
      expect(String((err as Error).stack)).not.toContain(wrong)
    })

    it('rejects a port nobody listens on with ERR_STORE, without the password', async () => {
      const secret = 'secret-9d2e'
      const err = await createPostgresStore({ connectionString: `postgres://app:${secret}@127.0.0.1:1/keys` }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'ERR_STORE', message: 'the postgres store cannot reach its database: ECONNREFUSED' })
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(secret)
    })

    it('rejects a host that accepts and never answers with ERR_STORE after connectionTimeoutMs', async () => {
      const secret = 'secret-4b7a'
      const sockets: Socket[] = []
      const silent = createServer((socket) => sockets.push(socket))
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
      try {
        const { port } = silent.address() as AddressInfo
        const started = Date.now()
        const err = await createPostgresStore({
          connectionString: `postgres://app:${secret}@127.0.0.1:${port}/keys`,
          connectionTimeoutMs: 300,
        }).catch((e: unknown) => e)
        expect(err).toMatchObject({ code: 'ERR_STORE' })
        expect((err as Error).message).toMatch(/timeout/)
        expect((err as Error).message).not.toContain(secret)
        expect(Date.now() - started).toBeLessThan(3000)
      } finally {
        silent.close()
        for (const socket of sockets) socket.destroy()
      }
    })

    it('rejects a connection string that is not a url with ERR_STORE, without it', async () => {
      const err = await createPostgresStore({ connectionString: 'postgres://app:secret-2c9f@:::/keys' }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'ERR_STORE', message: 'the postgres connection string is not a valid url' })
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('secret-2c9f')
    })
  })

  describe('options', () => {
    it('describes the database without its password', async () => {
      const database = await server.createDatabase()
      const store = await openStore(database)
      expect(store.description).toBe(`postgres://postgres@127.0.0.1:${server.port}/${database}`)
      expect(store.description).not.toContain(server.password)
    })

    it('needs either a connection string or a pool', async () => {
      await expect(createPostgresStore({})).rejects.toThrow(TypeError)
      await expect(createPostgresStore({ connectionString: 'postgres://x', pool: new pg.Pool() })).rejects.toThrow(
        '"connectionString" or "pool"',
      )
    })

    it.each(['maxConnections', 'connectionTimeoutMs', 'queryTimeoutMs'])('rejects a %s that is not a positive integer', async (name) => {
      await expect(createPostgresStore({ connectionString: 'postgres://x', [name]: 0 })).rejects.toThrow(
        `"${name}" option must be a positive integer`,
      )
    })

    it('rejects calls after close with ERR_STORE', async () => {
      const store = await openStore(await server.createDatabase())
      await store.close()
      await expect(store.apiKeys.get('key_a')).rejects.toMatchObject({ code: 'ERR_STORE' })
    })
  })
})
