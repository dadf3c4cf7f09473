import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createApiKey, generateApiKey } from '../../src/api-key/create.js'
import { verifyApiKey } from '../../src/api-key/verify.js'
import { createMemoryStore } from '../../src/store/memory-store.js'
import type { ApiKeyRecord, KeyStore } from '../../src/store/types.js'

const T0 = Date.UTC(2025, 0, 15, 12)
const HOUR = 3_600_000
const ACCOUNT_ID = '6f1c2a9e-8d3b-4c5a-9f7e-1b2c3d4e5f60'
const pepper = new Uint8Array(32).fill(1)

describe('verifyApiKey()', () => {
  let store: KeyStore
  let key: string
  let record: ApiKeyRecord
  let clock: number
  const now = () => clock

  beforeEach(async () => {
    clock = T0
    store = createMemoryStore()
    ;({ key, record } = await createApiKey({
      store,
      accountId: ACCOUNT_ID,
      name: 'CI',
      expiresAt: T0 + HOUR,
      pepper,
      now,
    }))
  })

  const verify = (value: unknown, pepperUsed = pepper) =>
    verifyApiKey(value, { store, pepper: pepperUsed, now })

  describe('with a live key', () => {
    it('resolves its record', async () => {
      await expect(verify(key)).resolves.toEqual(record)
    })

    it('resolves a key that never expires long after its creation', async () => {
      const forever = await createApiKey({
        store,
        accountId: ACCOUNT_ID,
        name: 'forever',
        expiresAt: null,
        pepper,
        now,
      })
      clock = T0 + 10 * 365 * 24 * HOUR
      await expect(verify(forever.key)).resolves.toEqual(forever.record)
    })
  })

  describe('with a malformed key', () => {
    it.each([
      ['a truncated key', () => key.slice(0, 53)],
      ['a mistyped key', () => key.slice(0, 10) + (key[10] === 'a' ? 'b' : 'a') + key.slice(11)],
      ['a non-string', () => 42],
      ['an empty string', () => ''],
    ])('rejects %s with ERR_API_KEY_MALFORMED without a store lookup', async (_label, value) => {
      const findByHash = vi.spyOn(store.apiKeys, 'findByHash')
      await expect(verify(value())).rejects.toMatchObject({ code: 'ERR_API_KEY_MALFORMED' })
      expect(findByHash).not.toHaveBeenCalled()
    })
  })

  describe('with a well-formed key that is not recognized', () => {
    it('rejects an unknown key with ERR_API_KEY_INVALID', async () => {
      await expect(verify(generateApiKey())).rejects.toMatchObject({ code: 'ERR_API_KEY_INVALID' })
    })

    it('rejects the right key hashed with another pepper with ERR_API_KEY_INVALID', async () => {
      await expect(verify(key, new Uint8Array(32).fill(2))).rejects.toMatchObject({
        code: 'ERR_API_KEY_INVALID',
      })
    })
  })

  describe('with a deleted key', () => {
    it('rejects with ERR_API_KEY_REVOKED', async () => {
      await store.apiKeys.markDeleted(record.id, T0 + 1)
      await expect(verify(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_REVOKED' })
    })

    it('reports the deletion even when the key has also expired', async () => {
      await store.apiKeys.markDeleted(record.id, T0 + 1)
      clock = T0 + 2 * HOUR
      await expect(verify(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_REVOKED' })
    })
  })

  describe('with an expiring key', () => {
    it('resolves one millisecond before its expiry', async () => {
      clock = T0 + HOUR - 1
      await expect(verify(key)).resolves.toEqual(record)
    })

    it('rejects at its expiry with ERR_API_KEY_EXPIRED', async () => {
      clock = T0 + HOUR
      await expect(verify(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_EXPIRED' })
    })

    it('uses the injected clock, not the system clock', async () => {
      vi.setSystemTime(T0)
      try {
        clock = T0 + 2 * HOUR
        await expect(verify(key)).rejects.toMatchObject({ code: 'ERR_API_KEY_EXPIRED' })
      } finally {
        vi.useRealTimers()
      }
    })
  })

  describe('error messages', () => {
    it('never contain the presented key or its random part', async () => {
      const deleted = await createApiKey({
        store,
        accountId: ACCOUNT_ID,
        name: 'gone',
        expiresAt: null,
        pepper,
        now,
      })
      await store.apiKeys.markDeleted(deleted.record.id, T0)
      clock = T0 + 2 * HOUR
      const presented = [
        key,
        deleted.key,
        generateApiKey(),
        key.slice(0, 53),
        `${key}x`,
        key.toUpperCase(),
      ]
      for (const value of presented) {
        const err = await verify(value).then(
          () => undefined,
          (e: unknown) => e as Error & { code: string },
        )
        expect(err?.code).toMatch(/^ERR_API_KEY_/)
        expect(err!.message).not.toContain(value)
        expect(err!.message).not.toContain(value.slice(4, 30))
      }
    })
  })
})
