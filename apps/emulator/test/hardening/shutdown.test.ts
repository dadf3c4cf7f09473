/**
 * Closing the emulator while its database fails: the last flushes fail, and what was opened is
 * still closed (the store, its file and its checkpoint thread), the failure reported.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errors } from '@eyepop/auth-core'
import { describe, expect, it } from 'vitest'
import { createSqliteEmulatorStore } from '../../src/store/sqlite-store.js'
import { startTestServer } from '../helpers.js'

describe('close() while the last flush of key uses fails', () => {
  it('still closes the store it opened, and rejects with the failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emulator-shutdown-'))
    try {
      // Key uses wait for close(): no periodic flush in the meantime.
      const running = await startTestServer({ dataDir: dir, lastUsedFlushMs: 60_000 })
      const { services } = running.emulator
      const { store } = services
      const created = await services.keys.create(services.defaultAccount.id, { name: 'shutdown', expires: 'never' })
      store.apiKeys.recordUse = async () => {
        throw new errors.StoreError('the database is gone')
      }
      let storeClosed = false
      const closeStore = store.close.bind(store)
      store.close = async () => {
        storeClosed = true
        await closeStore()
      }
      const res = await fetch(`${running.url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${created.key}` } })
      expect(res.status).toBe(200)
      await expect(running.close()).rejects.toThrow('the database is gone')
      expect(storeClosed).toBe(true)
      // The file was closed cleanly: it opens again, the key in it.
      const again = createSqliteEmulatorStore({ filename: join(dir, 'emulator.db') })
      try {
        expect(await again.apiKeys.get(created.id)).toMatchObject({ id: created.id })
      } finally {
        await again.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
