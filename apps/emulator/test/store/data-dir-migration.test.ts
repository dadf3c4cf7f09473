import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../src/services/passwords.js'
import { createSqliteEmulatorStore } from '../../src/store/sqlite-store.js'
import { runCliJson } from '../e2e/process.js'
import { startTestServer } from '../helpers.js'

/**
 * A data dir written by @eyepop/emulator 0.1.0 (every table in auth-core's single-version layout,
 * `user_version` 6; see `fixtures/make-data-dir.mjs`), opened by this version: migrated in place,
 * every key, token, account, Pop and audit event kept.
 */

const FIXTURE = new URL('./fixtures/data-dir-0.1/', import.meta.url)
const fixture = JSON.parse(readFileSync(new URL('fixture.json', FIXTURE), 'utf8')) as {
  issuedAt: number
  pop: { id: string; name: string }
  live: { id: string; key: string }
  gone: { id: string; key: string }
  bob: { id: string; email: string; password: string }
  token: { access_token: string }
}
const issuerOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iss: string }).iss

let root: string
let dataDir: string

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'emulator-data-dir-'))
  dataDir = join(root, 'data')
  cpSync(FIXTURE, dataDir, { recursive: true })
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

function read<T>(sql: string): T[] {
  const db = new Database(join(dataDir, 'emulator.db'), { readonly: true })
  try {
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}

describe('a data dir written by @eyepop/emulator 0.1.0', () => {
  it('is in the single-version layout at version 6 before it is opened', () => {
    expect(read<{ user_version: number }>('PRAGMA user_version')).toEqual([{ user_version: 6 }])
  })

  it('serves its keys, token and Pop as before once migrated', async () => {
    // The clock of the moment the token was issued, so that it has not expired yet; the issuer it names.
    const server = await startTestServer(
      { dataDir, issuer: issuerOf(fixture.token.access_token) },
      { now: () => fixture.issuedAt + 60_000 },
    )
    // The issuer is the fixture's; the server listens on a port of its own.
    const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`
    try {
      const config = await fetch(`${base}/pops/${fixture.pop.id}/config`, {
        headers: { authorization: `Bearer ${fixture.token.access_token}` },
      })
      expect(config.status).toBe(200)

      const live = await fetch(`${base}/v1/auth/authenticate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.live.key}` },
      })
      expect(live.status).toBe(200)
      expect(await live.json()).toMatchObject({ token_type: 'Bearer' })

      const gone = await fetch(`${base}/v1/auth/authenticate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.gone.key}` },
      })
      expect(gone.status).toBe(401)
    } finally {
      await server.close()
    }
    expect(read<{ user_version: number }>('PRAGMA user_version')).toEqual([{ user_version: 100 }])
    expect(read('SELECT component, version FROM schema_migrations ORDER BY component')).toEqual([
      { component: 'auth-core', version: 1 },
      { component: 'emulator', version: 1 },
    ])
  })

  it('keeps its accounts, their passwords, the Pops and the audit log', async () => {
    const store = createSqliteEmulatorStore({ filename: join(dataDir, 'emulator.db') })
    try {
      const bob = await store.accounts.findByEmail(fixture.bob.email)
      expect(bob).toMatchObject({ id: fixture.bob.id, name: 'Bob' })
      expect(await verifyPassword(fixture.bob.password, bob!.passwordHash!)).toBe(true)
      const accounts = await store.accounts.list()
      expect(accounts).toHaveLength(2)
      const owner = accounts.find((a) => a.id !== fixture.bob.id)!
      expect(await store.pops.list(owner.id)).toMatchObject([{ id: fixture.pop.id, name: fixture.pop.name }])
      const types = (await store.audit.list(owner.id)).map((e) => `${e.type} ${e.keyId}`).reverse()
      expect(types).toEqual(
        expect.arrayContaining([
          `key.created ${fixture.live.id}`,
          `key.created ${fixture.gone.id}`,
          `key.first_used ${fixture.live.id}`,
          `key.deleted ${fixture.gone.id}`,
        ]),
      )
      // A key of an account that does not exist is still refused.
      await expect(
        store.apiKeys.create({ id: 'key_x', accountId: 'nobody', name: 'x', hash: 'h', hint: 'abcd', createdAt: 0, expiresAt: null, lastUsedAt: null, deletedAt: null }),
      ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' })
    } finally {
      await store.close()
    }
  })

  it('lists its live key from the CLI, not the deleted one', async () => {
    const keys = await runCliJson<Array<{ id: string; status: string }>>(['keys', 'list', '--json', '--data-dir', dataDir])
    expect(keys.map((k) => [k.id, k.status])).toEqual([[fixture.live.id, 'active']])
  })
})
