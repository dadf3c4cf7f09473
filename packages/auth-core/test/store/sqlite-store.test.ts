import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createSqliteStore, SQLITE_LAYOUT_VERSION, type SqliteKeyStore, type SqliteMigrations } from '../../src/store/sqlite-store.js'
import { AUTH_CORE_SQLITE_MIGRATIONS, LEGACY_SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js'
import type { ApiKeyRecord } from '../../src/store/types.js'

/** What only the SQLite store promises: durability, WAL, sharing a file, schema versioning. */

const SQLITE_MIGRATIONS = LEGACY_SQLITE_MIGRATIONS

const T0 = Date.UTC(2025, 0, 15, 12)
const ALICE = '11111111-1111-4111-8111-111111111111'

let dir: string
let fileCount = 0
const open: SqliteKeyStore[] = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'auth-core-sqlite-'))
})

afterEach(async () => {
  for (const store of open.splice(0)) await store.close()
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

function newFile(): string {
  return join(dir, `case-${++fileCount}`, 'emulator.db')
}

function openStore(filename: string, now: () => number = () => T0, migrations?: readonly SqliteMigrations[]): SqliteKeyStore {
  const store = createSqliteStore({ filename, now, ...(migrations ? { migrations } : {}) })
  open.push(store)
  return store
}

/** The rows of `schema_migrations`, read through a separate, plain connection. */
function componentVersions(filename: string): Record<string, number> {
  const db = new Database(filename, { readonly: true })
  try {
    const rows = db.prepare('SELECT component, version FROM schema_migrations').all() as Array<{ component: string; version: number }>
    return Object.fromEntries(rows.map((row) => [row.component, row.version]))
  } finally {
    db.close()
  }
}

/** An application's own table in the same file: notes of about 400 bytes each. */
const NOTES: SqliteMigrations = {
  component: 'notes-app',
  migrations: ['CREATE TABLE notes (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL) STRICT'],
}

/** Appends the `b`th batch of 100 notes (≈ 50 kB of WAL) in one transaction of the store's connection. */
function appendNotes(store: SqliteKeyStore, b: number): void {
  const insert = store.database.prepare('INSERT INTO notes (at, body) VALUES (?, ?)')
  store.database.transaction(() => {
    for (let i = 0; i < 100; i++) insert.run(T0 + b * 100 + i, 'x'.repeat(400))
  })()
}

/** Reads a pragma through a separate, plain connection. */
function pragma(filename: string, name: string): unknown {
  const db = new Database(filename, { readonly: true })
  try {
    return db.pragma(name, { simple: true })
  } finally {
    db.close()
  }
}

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn()
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected the call to throw')
}

const key: ApiKeyRecord = {
  id: 'key_a',
  accountId: ALICE,
  name: 'CI',
  hash: 'hash-a',
  hint: 'abcd',
  createdAt: T0,
  expiresAt: null,
  lastUsedAt: null,
  deletedAt: null,
}

describe('createSqliteStore()', () => {
  describe('when opening a new file', () => {
    it('creates its folder and describes itself by file name', () => {
      const filename = newFile()
      const store = openStore(filename)
      expect(store.description).toBe(`sqlite:${filename}`)
    })

    it('turns on WAL mode', async () => {
      const filename = newFile()
      openStore(filename)
      expect(pragma(filename, 'journal_mode')).toBe('wal')
    })

    it('records the current schema version', () => {
      const filename = newFile()
      openStore(filename)
      expect(pragma(filename, 'user_version')).toBe(SQLITE_LAYOUT_VERSION)
      expect(componentVersions(filename)).toEqual({ 'auth-core': AUTH_CORE_SQLITE_MIGRATIONS.migrations.length })
    })
  })

  describe('persistence', () => {
    it('keeps every kind of record across close and reopen of the same file', async () => {
      const filename = newFile()
      const first = openStore(filename)
      await first.apiKeys.create(key)
      await first.apiKeys.markDeleted('key_a', T0 + 1)
      await first.settings.setIfAbsent('api_key_pepper', 'secret')
      await first.signingKeys.create({ kid: 'k1', alg: 'EdDSA', privateJwk: { kty: 'OKP', d: 'd' }, publicJwk: { kty: 'OKP' }, createdAt: T0, retiredAt: null })
      await first.revocations.revokeToken('jti-1', T0 + 3_600_000, T0)
      await first.close()

      const second = openStore(filename)
      expect(await second.apiKeys.findByHash('hash-a')).toEqual({ ...key, deletedAt: T0 + 1 })
      expect((await second.revocations.since(0)).revoked).toEqual([
        { id: 'key_a', deletedAt: T0 + 1 },
      ])
      expect((await second.signingKeys.list()).map((k) => k.kid)).toEqual(['k1'])
      expect(await second.revocations.isTokenRevoked('jti-1')).toBe(true)
      expect(await second.settings.setIfAbsent('api_key_pepper', 'other')).toBe('secret')
    })

    it('purges revoked tokens past their expiry when it closes', async () => {
      const filename = newFile()
      let clock = T0
      const store = openStore(filename, () => clock)
      await store.revocations.revokeToken('gone', T0 + 10_000, T0)
      await store.revocations.revokeToken('kept', T0 + 3_600_000, T0)
      clock = T0 + 60_000
      await store.close()
      const db = new Database(filename, { readonly: true })
      try {
        const jtis = db.prepare("SELECT subject FROM revocations WHERE kind = 'token' ORDER BY subject").pluck().all()
        expect(jtis).toEqual(['kept'])
      } finally {
        db.close()
      }
    })
  })

  describe('with two connections on one file (the CLI and the server)', () => {
    it("sees the other connection's writes at once", async () => {
      const filename = newFile()
      const server = openStore(filename)
      const cli = openStore(filename)
      await cli.apiKeys.create(key)
      expect(await server.apiKeys.findByHash('hash-a')).toEqual(key)

      const before = await server.revocations.since(0)
      expect(await cli.apiKeys.markDeleted('key_a', T0 + 5)).toBe(true)
      expect((await server.revocations.since(before.cursor)).revoked).toEqual([
        { id: 'key_a', deletedAt: T0 + 5 },
      ])
      expect(await server.apiKeys.markDeleted('key_a', T0 + 6)).toBe(false)
    })

    it('settles setIfAbsent on the first value written by either', async () => {
      const filename = newFile()
      const a = openStore(filename)
      const b = openStore(filename)
      const [fromA, fromB] = await Promise.all([
        a.settings.setIfAbsent('default_account_id', 'from-a'),
        b.settings.setIfAbsent('default_account_id', 'from-b'),
      ])
      expect(fromA).toBe(fromB)
      expect(await b.settings.get('default_account_id')).toBe(fromA)
    })

    it('reports a duplicate written by the other connection as ERR_CONFLICT', async () => {
      const filename = newFile()
      const a = openStore(filename)
      const b = openStore(filename)
      await a.apiKeys.create(key)
      await expect(b.apiKeys.create({ ...key, id: 'key_other' })).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
    })

    it('numbers deletions from both connections in one revocation sequence', async () => {
      const filename = newFile()
      const a = openStore(filename)
      const b = openStore(filename)
      await a.apiKeys.create(key)
      await a.apiKeys.create({ ...key, id: 'key_b', hash: 'hash-b' })
      await a.apiKeys.markDeleted('key_a', T0 + 1)
      const seen = await b.revocations.since(0)
      await b.apiKeys.markDeleted('key_b', T0 + 2)
      expect((await a.revocations.since(seen.cursor)).revoked).toEqual([
        { id: 'key_b', deletedAt: T0 + 2 },
      ])
    })
  })

  describe('schema versioning', () => {
    it('refuses a database with a newer user_version with ERR_STORE and leaves it as it was', async () => {
      const filename = newFile()
      const store = createSqliteStore({ filename })
      await store.settings.setIfAbsent('name', 'value')
      await store.close()
      const db = new Database(filename)
      db.pragma(`user_version = ${SQLITE_LAYOUT_VERSION + 1}`)
      db.close()

      const err = thrown(() => createSqliteStore({ filename }))
      expect(err).toMatchObject({ code: 'ERR_STORE' })
      expect(err.message).toMatch(/newer than this software supports/)
      // The refused connection was closed: the last connection to close removes the WAL file.
      expect(existsSync(`${filename}-wal`)).toBe(false)
      expect(pragma(filename, 'user_version')).toBe(SQLITE_LAYOUT_VERSION + 1)
    })

    it('migrates idempotently: reopening keeps the version and the data', async () => {
      const filename = newFile()
      const first = openStore(filename)
      await first.settings.setIfAbsent('name', 'value')
      await first.close()
      for (let i = 0; i < 3; i++) {
        const again = openStore(filename)
        expect(await again.settings.get('name')).toBe('value')
        await again.close()
      }
      expect(pragma(filename, 'user_version')).toBe(SQLITE_LAYOUT_VERSION)
    })

    it('lets two connections open a new file at once without running a migration twice', async () => {
      const filename = newFile()
      const a = openStore(filename)
      const b = openStore(filename)
      await a.settings.setIfAbsent('x', '1')
      expect(await b.settings.get('x')).toBe('1')
      expect(pragma(filename, 'user_version')).toBe(SQLITE_LAYOUT_VERSION)
    })

    it('refuses a file whose auth-core tables are at a newer version, leaving it as it was', async () => {
      const filename = newFile()
      await openStore(filename).close()
      const db = new Database(filename)
      db.prepare("UPDATE schema_migrations SET version = version + 1 WHERE component = 'auth-core'").run()
      db.close()
      const err = thrown(() => createSqliteStore({ filename }))
      expect(err).toMatchObject({ code: 'ERR_STORE' })
      expect(err.message).toMatch(/auth-core is at version 2, newer than this software supports \(1\)/)
      expect(componentVersions(filename)).toEqual({ 'auth-core': 2 })
    })

    it("runs an application's own migrations after auth-core's, once, and the next ones it appends", async () => {
      const filename = newFile()
      const first = openStore(filename, () => T0, [NOTES])
      appendNotes(first, 0)
      await first.close()
      expect(componentVersions(filename)).toEqual({ 'auth-core': 1, 'notes-app': 1 })
      // Reopened with the same migrations: nothing runs again (a second CREATE TABLE would fail).
      await openStore(filename, () => T0, [NOTES]).close()
      const next: SqliteMigrations = { ...NOTES, migrations: [...NOTES.migrations, 'CREATE INDEX notes_at ON notes(at)'] }
      const second = openStore(filename, () => T0, [next])
      expect(componentVersions(filename)).toEqual({ 'auth-core': 1, 'notes-app': 2 })
      expect(second.database.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 100 })
      expect(second.database.prepare("SELECT name FROM sqlite_master WHERE name = 'notes_at'").pluck().get()).toBe('notes_at')
    })

    it("closes the file when an application's migration fails, and keeps what ran before it", async () => {
      const filename = newFile()
      const broken: SqliteMigrations = { component: 'broken', migrations: ['CREATE TABLE oops (x INTEGER) STRICT; SELECT * FROM nowhere'] }
      expect(thrown(() => createSqliteStore({ filename, migrations: [broken] }))).toMatchObject({ code: 'ERR_STORE' })
      expect(existsSync(`${filename}-wal`)).toBe(false)
      expect(componentVersions(filename)).toEqual({ 'auth-core': 1 })
      const db = new Database(filename, { readonly: true })
      try {
        expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'oops'").get()).toBeUndefined()
      } finally {
        db.close()
      }
    })

    it('migrates an existing empty database at version 0', async () => {
      const filename = newFile()
      mkdirSync(join(filename, '..'), { recursive: true })
      new Database(filename).close()
      expect(pragma(filename, 'user_version')).toBe(0)
      const store = openStore(filename)
      await store.settings.setIfAbsent('x', '1')
      expect(pragma(filename, 'user_version')).toBe(SQLITE_LAYOUT_VERSION)
    })
  })

  describe('migration 2 (the revocation feed)', () => {
    it('carries key deletions of a version 1 file into the feed, in order, and continues after them', async () => {
      const filename = newFile()
      mkdirSync(join(filename, '..'), { recursive: true })
      const v1 = new Database(filename)
      v1.exec(SQLITE_MIGRATIONS[0]!)
      v1.pragma('user_version = 1')
      v1.prepare("INSERT INTO accounts VALUES (?, 'a@example.com', 'A', ?)").run(ALICE, T0)
      const insert = v1.prepare(
        `INSERT INTO api_keys (id, account_id, name, hash, hint, created_at, deleted_at, revocation_seq)
         VALUES (?, ?, 'k', ?, 'abcd', ?, ?, ?)`,
      )
      insert.run('key_old2', ALICE, 'h2', T0, T0 + 20, 2)
      insert.run('key_old1', ALICE, 'h1', T0, T0 + 10, 1)
      insert.run('key_live', ALICE, 'h3', T0, null, null)
      v1.close()

      const store = openStore(filename)
      expect(pragma(filename, 'user_version')).toBe(SQLITE_LAYOUT_VERSION)
      const page = await store.revocations.since(0)
      expect(page.revoked).toEqual([
        { id: 'key_old1', deletedAt: T0 + 10 },
        { id: 'key_old2', deletedAt: T0 + 20 },
      ])
      expect(page.cursor).toBe(2)
      expect(await store.apiKeys.markDeleted('key_live', T0 + 30)).toBe(true)
      const next = await store.revocations.since(page.cursor)
      expect(next.revoked).toEqual([{ id: 'key_live', deletedAt: T0 + 30 }])
      expect(next.cursor).toBeGreaterThan(2)
    })
  })

  describe('migrations 3 and 4 of the single-version layout (password hashes and the audit log)', () => {
    it('opens a version 2 file: keys kept, the tables the emulator keeps beside them brought to version 6', async () => {
      const filename = newFile()
      mkdirSync(join(filename, '..'), { recursive: true })
      const v2 = new Database(filename)
      v2.exec(SQLITE_MIGRATIONS[0]!)
      v2.exec(SQLITE_MIGRATIONS[1]!)
      v2.pragma('user_version = 2')
      v2.prepare("INSERT INTO accounts VALUES (?, 'a@example.com', 'A', ?)").run(ALICE, T0)
      v2.prepare(
        `INSERT INTO api_keys (id, account_id, name, hash, hint, created_at) VALUES ('key_a', ?, 'CI', 'hash-a', 'abcd', ?)`,
      ).run(ALICE, T0)
      v2.close()

      const store = openStore(filename)
      expect(pragma(filename, 'user_version')).toBe(SQLITE_LAYOUT_VERSION)
      expect(await store.apiKeys.findByHash('hash-a')).toMatchObject({ id: 'key_a', accountId: ALICE })
      await store.close()
      const db = new Database(filename, { readonly: true })
      try {
        expect(db.prepare('SELECT * FROM accounts').all()).toEqual([
          { id: ALICE, email: 'a@example.com', name: 'A', created_at: T0, password_hash: null },
        ])
        expect(db.prepare("SELECT name FROM pragma_index_info('audit_events_account')").pluck().all()).toEqual(['account_id', 'id'])
      } finally {
        db.close()
      }
    })
  })

  describe('lookups by hash issued in one turn of the event loop (read together)', () => {
    it('answers each with its own key or undefined, whatever the mix', async () => {
      const store = openStore(newFile())
      const keys = Array.from({ length: 20 }, (_, i): ApiKeyRecord => ({ ...key, id: `key_${i}`, hash: `hash-${i}`, lastUsedAt: i % 3 ? T0 + i : null }))
      for (const k of keys) await store.apiKeys.create(k)
      const wanted = keys.flatMap((k, i) => [k.hash, `missing-${i}`]).reverse()
      const found = await Promise.all(wanted.map((hash) => store.apiKeys.findByHash(hash)))
      expect(found).toEqual(wanted.map((hash) => keys.find((k) => k.hash === hash)))
      // A single lookup in its turn too.
      expect(await store.apiKeys.findByHash('hash-7')).toEqual(keys[7])
    })

    it("sees a deletion another connection committed after the lookups were asked for, before the turn's end", async () => {
      const filename = newFile()
      const store = openStore(filename)
      const other = openStore(filename)
      await store.apiKeys.create(key)
      await store.apiKeys.create({ ...key, id: 'key_b', hash: 'hash-b' })
      const pending = [store.apiKeys.findByHash('hash-a'), store.apiKeys.findByHash('hash-b')]
      expect(await other.apiKeys.markDeleted('key_a', T0 + 1)).toBe(true)
      const [a, b] = await Promise.all(pending)
      expect(a).toMatchObject({ id: 'key_a', deletedAt: T0 + 1 })
      expect(b).toMatchObject({ id: 'key_b', deletedAt: null })
    })

    it('answers lookups pending at close, and refuses new ones after it', async () => {
      const store = openStore(newFile())
      await store.apiKeys.create(key)
      const pending = store.apiKeys.findByHash('hash-a')
      await store.close()
      expect(await pending).toEqual(key)
      await expect(store.apiKeys.findByHash('hash-a')).rejects.toMatchObject({ code: 'ERR_STORE' })
    })
  })

  describe('migration 5 (keys ordered by hash)', () => {
    it('moves every key of a version 4 file, fields and order kept, and finds a key by hash in one B-tree', async () => {
      const filename = newFile()
      mkdirSync(join(filename, '..'), { recursive: true })
      const v4 = new Database(filename)
      for (const migration of SQLITE_MIGRATIONS.slice(0, 4)) v4.exec(migration)
      v4.pragma('user_version = 4')
      v4.prepare("INSERT INTO accounts (id, email, name, created_at) VALUES (?, 'a@example.com', 'A', ?)").run(ALICE, T0)
      const insert = v4.prepare(
        `INSERT INTO api_keys (id, account_id, name, hash, hint, created_at, expires_at, last_used_at, deleted_at, revocation_seq)
         VALUES (@id, @accountId, @name, @hash, @hint, @createdAt, @expiresAt, @lastUsedAt, @deletedAt, NULL)`,
      )
      const keys: ApiKeyRecord[] = [
        { id: 'key_b', accountId: ALICE, name: 'CI', hash: 'hash-z', hint: 'abcd', createdAt: T0, expiresAt: null, lastUsedAt: T0 + 5, deletedAt: null },
        { id: 'key_a', accountId: ALICE, name: 'Old', hash: 'hash-y', hint: 'efgh', createdAt: T0, expiresAt: T0 + 100, lastUsedAt: null, deletedAt: T0 + 50 },
        { id: 'key_c', accountId: ALICE, name: 'Web', hash: 'hash-x', hint: 'ijkl', createdAt: T0 + 1, expiresAt: T0 + 9e9, lastUsedAt: null, deletedAt: null },
      ]
      for (const k of keys) insert.run(k)
      v4.close()

      const store = openStore(filename)
      expect(pragma(filename, 'user_version')).toBe(SQLITE_LAYOUT_VERSION)
      for (const k of keys) {
        expect(await store.apiKeys.findByHash(k.hash)).toEqual(k)
        expect(await store.apiKeys.get(k.id)).toEqual(k)
      }
      expect((await store.apiKeys.list(ALICE, { includeDeleted: true })).map((k) => k.id)).toEqual(['key_a', 'key_b', 'key_c'])
      // Ids and hashes stay unique.
      await expect(store.apiKeys.create({ ...keys[0]!, hash: 'hash-new' })).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
      await expect(store.apiKeys.create({ ...keys[0]!, id: 'key_new' })).rejects.toMatchObject({ code: 'ERR_CONFLICT' })

      const db = new Database(filename, { readonly: true })
      try {
        const table = db.prepare("SELECT wr, strict FROM pragma_table_list WHERE name = 'api_keys'").get()
        expect(table).toEqual({ wr: 1, strict: 1 })
        const plan = db.prepare('EXPLAIN QUERY PLAN SELECT * FROM api_keys WHERE hash = ?').all('hash-x') as Array<{ detail: string }>
        expect(plan.map((p) => p.detail)).toEqual(['SEARCH api_keys USING PRIMARY KEY (hash=?)'])
        const columns = db.prepare("SELECT name FROM pragma_table_info('api_keys')").pluck().all()
        expect(columns).not.toContain('revocation_seq')
      } finally {
        db.close()
      }
    })
  })

  describe('migration 6 (live keys indexed apart)', () => {
    it('counts and lists an account\'s live keys from an index of live keys only, the deleted ones left unread', async () => {
      const filename = newFile()
      const store = openStore(filename)
      const key = (i: number, deletedAt: number | null): ApiKeyRecord => ({
        id: `key_${i}`, accountId: ALICE, name: `k${i}`, hash: `hash-${i}`, hint: 'abcd',
        createdAt: T0 + i, expiresAt: null, lastUsedAt: null, deletedAt,
      })
      for (let i = 0; i < 50; i++) await store.apiKeys.create(key(i, i % 5 === 0 ? null : T0 + 100))
      expect(await store.apiKeys.countLive(ALICE)).toBe(10)
      expect((await store.apiKeys.list(ALICE)).map((k) => k.id)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45].map((i) => `key_${i}`))
      expect(await store.apiKeys.list(ALICE, { includeDeleted: true })).toHaveLength(50)

      const db = new Database(filename, { readonly: true })
      try {
        const index = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'api_keys_live'").pluck().get()
        expect(index).toMatch(/WHERE deleted_at IS NULL$/)
        const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(ALICE) as Array<{ detail: string }>).map((p) => p.detail)
        expect(plan('SELECT count(*) FROM api_keys WHERE account_id = ? AND deleted_at IS NULL')).toEqual([
          'SEARCH api_keys USING INDEX api_keys_live (account_id=?)',
        ])
        // In the index's order: no sort of the account's keys.
        expect(plan('SELECT * FROM api_keys WHERE account_id = ? AND deleted_at IS NULL ORDER BY created_at, id')).toEqual([
          'SEARCH api_keys USING INDEX api_keys_live (account_id=?)',
        ])
      } finally {
        db.close()
      }
    })
  })

  describe('when the file cannot be opened', () => {
    it('rejects a file that is not a database with ERR_STORE', () => {
      const filename = newFile()
      mkdirSync(join(filename, '..'), { recursive: true })
      writeFileSync(filename, 'this is not a sqlite database, just some text '.repeat(40))
      const err = thrown(() => createSqliteStore({ filename }))
      expect(err).toMatchObject({ code: 'ERR_STORE' })
      // With SQLite's reason, which says what to fix.
      expect(err.message).toBe('cannot open the sqlite store: file is not a database')
    })

    it('rejects a folder with ERR_STORE', () => {
      const filename = newFile()
      mkdirSync(filename, { recursive: true })
      expect(thrown(() => createSqliteStore({ filename }))).toMatchObject({ code: 'ERR_STORE' })
    })
  })
})

describe('createSqliteStore({ checkpoint })', () => {
  /** Writes `batches` transactions of 100 notes each (about a WAL page per few notes). */
  async function write(store: SqliteKeyStore, batches: number): Promise<void> {
    for (let b = 0; b < batches; b++) {
      appendNotes(store, b)
      // Gives the checkpoint thread its turn, as a server's idle moments do.
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  const walBytes = (filename: string) => (existsSync(`${filename}-wal`) ? statSync(`${filename}-wal`).size : 0)

  /**
   * How many frames the WAL holds and how many a checkpoint has copied into the database, read
   * from the wal-index (the `-shm` file, https://sqlite.org/walformat.html: `mxFrame` at byte 16 of
   * its header, `nBackfill` at byte 96; native byte order).
   */
  const walFrames = (filename: string) => {
    const shm = readFileSync(`${filename}-shm`)
    return { frames: shm.readUInt32LE(16), backfilled: shm.readUInt32LE(96) }
  }

  it('background: turns off the inline checkpoint and keeps the WAL small from a thread of its own', async () => {
    const filename = newFile()
    const store = createSqliteStore({ filename, now: () => T0, checkpoint: 'background', checkpointIntervalMs: 10, migrations: [NOTES] })
    open.push(store)
    const db = new Database(filename, { readonly: true })
    try {
      let largestWal = 0
      for (let b = 0; b < 80; b++) {
        appendNotes(store, b)
        largestWal = Math.max(largestWal, walBytes(filename))
        // Neither the store's own connection nor the read-only one checkpoints: only the thread
        // can copy the batch into the database. Waits for it (no clock: a busy machine only waits
        // longer); the next commit then restarts the WAL from its beginning.
        await vi.waitFor(
          () => {
            const { frames, backfilled } = walFrames(filename)
            expect(frames).toBeGreaterThan(0)
            expect(backfilled).toBe(frames)
          },
          { timeout: 10_000, interval: 5 },
        )
      }
      // 80 transactions of ≈ 50 kB: SQLite's own checkpoint lets the WAL reach 1,000 pages (4 MB);
      // here the WAL restarts from its beginning after every checkpointed batch.
      expect(largestWal).toBeLessThan(512 * 1024)
      expect(walBytes(filename)).toBeLessThan(512 * 1024)
      expect(db.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 8000 })
    } finally {
      db.close()
    }
  }, 60_000)

  it('background: keeps the WAL bounded while writes never pause (a checkpoint never catches up with them)', async () => {
    const filename = newFile()
    const store = createSqliteStore({ filename, now: () => T0, checkpoint: 'background', checkpointIntervalMs: 10, migrations: [NOTES] })
    open.push(store)
    let largestWal = 0
    // 400 transactions of ≈ 50 kB, ≈ 20 MB of WAL frames, 2 ms apart: each PASSIVE checkpoint copies
    // what was committed when it began, and by its end the next commit is there, so the WAL never
    // starts over by itself (on a busy machine the writes slow down and a checkpoint may catch up:
    // the WAL then starts over, which keeps it bounded too).
    for (let b = 0; b < 400; b++) {
      appendNotes(store, b)
      largestWal = Math.max(largestWal, walBytes(filename))
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    // Never far past 1,000 pages (4 MB): without the TRUNCATE checkpoint, ≈ 36 MB here.
    expect(largestWal).toBeLessThan(10 * 1024 * 1024)
    const db = new Database(filename, { readonly: true })
    try {
      expect(db.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 40_000 })
    } finally {
      db.close()
    }
  }, 60_000)

  it('inline (the default): leaves the checkpoint to SQLite, in the commit that crosses 1,000 pages', async () => {
    const filename = newFile()
    const store = openStore(filename, () => T0, [NOTES])
    await write(store, 80)
    expect(walBytes(filename)).toBeGreaterThan(3 * 1024 * 1024)
  })

  it('background: stops its thread on close, and the data stays', async () => {
    const filename = newFile()
    const store = createSqliteStore({ filename, now: () => T0, checkpoint: 'background', checkpointIntervalMs: 10, migrations: [NOTES] })
    await write(store, 5)
    await store.close()
    const reopened = openStore(filename, () => T0, [NOTES])
    expect(reopened.database.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 500 })
  })
})

describe('createSqliteStore({ checkpoint: "background" }) in a process of its own', () => {
  it('lets a script that closes it end normally (the thread keeps the process alive until it has stopped)', async () => {
    const { spawnSync } = await import('node:child_process')
    const filename = newFile()
    const script = `
      const { createSqliteStore } = await import(${JSON.stringify(new URL('../../dist/store/sqlite-store.js', import.meta.url).href)})
      const store = createSqliteStore({ filename: ${JSON.stringify(filename)}, checkpoint: 'background' })
      await store.close()
      console.log('closed')
    `
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout.trim()).toBe('closed')
  })
})

describe('createWithinLimit() with another connection writing to the file', () => {
  it('counts after the other connection\'s insert commits, so the two cannot pass the limit together', async () => {
    const filename = newFile()
    const store = openStore(filename)
    const key = (id: string): ApiKeyRecord => ({
      id, accountId: ALICE, name: id, hash: `hash-${id}`, hint: 'abcd', createdAt: T0, expiresAt: null, lastUsedAt: null, deletedAt: null,
    })
    await store.apiKeys.create(key('key_1'))
    // Another process, as a CLI beside a server: it takes the file's write lock, inserts the
    // account's second key, and commits 300 ms later. A thread of its own, since this one blocks
    // on the lock while it waits.
    const { Worker } = await import('node:worker_threads')
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads')
       const Database = require('better-sqlite3')
       const db = new Database(workerData.filename, { timeout: 5000 })
       db.exec('BEGIN IMMEDIATE')
       db.prepare("INSERT INTO api_keys (id, account_id, name, hash, hint, created_at, expires_at, last_used_at, deleted_at) VALUES ('key_2', ?, 'key_2', 'hash-key_2', 'abcd', ?, NULL, NULL, NULL)").run(workerData.account, workerData.at)
       parentPort.postMessage('locked')
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300)
       db.exec('COMMIT')
       db.close()
       parentPort.postMessage('committed')`,
      { eval: true, workerData: { filename, account: ALICE, at: T0 } },
    )
    const messages: string[] = []
    const done = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: string) => {
        messages.push(m)
        if (m === 'committed') resolve()
      })
      worker.on('error', reject)
    })
    await new Promise<void>((resolve) => worker.once('message', () => resolve()))
    try {
      // The limit is 2: the other connection's key is the second, so this one must be refused.
      expect(await store.apiKeys.createWithinLimit(key('key_3'), 2)).toBe(false)
      await done
      expect((await store.apiKeys.list(ALICE)).map((k) => k.id).sort()).toEqual(['key_1', 'key_2'])
    } finally {
      await worker.terminate()
    }
  })
})
