import { describe, expect, it } from 'vitest'
import {
  API_KEY_NAME_MAX_LENGTH,
  createApiKey,
  generateApiKey,
  validateName,
} from '../../src/api-key/create.js'
import { apiKeyHint, isApiKey, parseApiKey } from '../../src/api-key/format.js'
import { hashApiKey } from '../../src/api-key/hash.js'
import { createMemoryStore } from '../../src/store/memory-store.js'
import type { KeyStore } from '../../src/store/types.js'

// The pattern GitHub-style secret scanners use to find EyePop keys in text.
const SCANNER_RE = /eyp_[A-Za-z0-9_-]{50,}/
const NOW = Date.UTC(2025, 0, 15, 12)
const ACCOUNT_ID = '6f1c2a9e-8d3b-4c5a-9f7e-1b2c3d4e5f60'
const pepper = new Uint8Array(32).fill(7)

async function newStore(): Promise<KeyStore> {
  const store = createMemoryStore()
  return store
}

function create(store: KeyStore, overrides: Partial<Parameters<typeof createApiKey>[0]> = {}) {
  return createApiKey({
    store,
    accountId: ACCOUNT_ID,
    name: 'Starter Integration',
    expiresAt: null,
    pepper,
    now: () => NOW,
    ...overrides,
  })
}

describe('generateApiKey()', () => {
  describe('over 1,000 keys', () => {
    const keys = Array.from({ length: 1000 }, () => generateApiKey())

    it('are all unique', () => {
      expect(new Set(keys).size).toBe(1000)
      expect(new Set(keys.map((key) => key.slice(4, 48))).size).toBe(1000)
    })

    it('are all well formed: eyp_, 50 base62 characters and a valid checksum', () => {
      for (const key of keys) {
        expect(key).toMatch(/^eyp_[0-9A-Za-z]{50}$/)
        expect(isApiKey(key)).toBe(true)
      }
    })

    it('are all found whole by the secret-scanner pattern, even inside other text', () => {
      for (const key of keys) {
        expect(SCANNER_RE.exec(key)?.[0]).toBe(key)
        expect(SCANNER_RE.exec(`EYEPOP_API_KEY=${key}\nOTHER=1`)?.[0]).toBe(key)
        expect(SCANNER_RE.exec(`"apiKey": "${key}",`)?.[0]).toBe(key)
      }
    })

    it('use the whole base62 alphabet in the random part', () => {
      // 44,000 uniform draws from 62 symbols miss one with probability ≈ 62·(61/62)^44000 ≈ 0.
      const seen = new Set(keys.flatMap((key) => [...key.slice(4, 48)]))
      expect(seen.size).toBe(62)
    })
  })
})

describe('validateName()', () => {
  describe('with a valid name', () => {
    it('returns it trimmed', () => {
      expect(validateName('  Starter Integration \t')).toBe('Starter Integration')
    })

    it('accepts exactly 100 characters and non-ASCII text', () => {
      expect(API_KEY_NAME_MAX_LENGTH).toBe(100)
      expect(validateName('x'.repeat(100))).toHaveLength(100)
      expect(validateName('Clé d’intégration 🚀')).toBe('Clé d’intégration 🚀')
    })
  })

  describe('with an invalid name', () => {
    it.each([
      ['a non-string', 42, /must be a string/],
      ['undefined', undefined, /must be a string/],
      ['an empty string', '', /must not be empty/],
      ['only whitespace', ' \t\n ', /must not be empty/],
      ['101 characters', 'x'.repeat(101), /at most 100 characters/],
      ['a control character', 'ci\u0000key', /control characters/],
      ['an inner newline', 'line\nbreak', /control characters/],
      ['DEL', 'del\u007f', /control characters/],
    ])('throws a TypeError for %s', (_label, name, message) => {
      expect(() => validateName(name)).toThrow(TypeError)
      expect(() => validateName(name)).toThrow(message)
    })
  })
})

describe('createApiKey()', () => {
  describe('with valid options', () => {
    it('returns a well-formed key once and a record that matches it', async () => {
      const store = await newStore()
      const { key, record } = await create(store, { name: '  CI  ' })
      expect(parseApiKey(key).key).toBe(key)
      expect(record).toEqual({
        id: expect.stringMatching(/^key_[0-9A-Za-z]{16}$/),
        accountId: ACCOUNT_ID,
        name: 'CI',
        hash: hashApiKey(key, pepper),
        hint: apiKeyHint(key),
        createdAt: NOW,
        expiresAt: null,
        lastUsedAt: null,
        deletedAt: null,
      })
    })

    it('stores the record, findable by the hash of the key', async () => {
      const store = await newStore()
      const { key, record } = await create(store)
      expect(await store.apiKeys.get(record.id)).toEqual(record)
      expect(await store.apiKeys.findByHash(hashApiKey(key, pepper))).toEqual(record)
    })

    it('never stores the key or its random part', async () => {
      const store = await newStore()
      const { key, record } = await create(store)
      const stored = JSON.stringify(await store.apiKeys.get(record.id))
      expect(stored).not.toContain(key)
      expect(stored).not.toContain(key.slice(4, 48))
      expect(stored).not.toContain(key.slice(4, 20))
    })

    it('keys the hash with the pepper', async () => {
      const store = await newStore()
      const { key, record } = await create(store)
      expect(record.hash).not.toBe(hashApiKey(key, new Uint8Array(32).fill(8)))
    })

    it('accepts an expiry in the future', async () => {
      const store = await newStore()
      const { record } = await create(store, { expiresAt: NOW + 1 })
      expect(record.expiresAt).toBe(NOW + 1)
    })

    it('gives every key a new id and key', async () => {
      const store = await newStore()
      const a = await create(store)
      const b = await create(store)
      expect(a.record.id).not.toBe(b.record.id)
      expect(a.key).not.toBe(b.key)
      expect(await store.apiKeys.countLive(ACCOUNT_ID)).toBe(2)
    })
  })

  describe('with invalid options', () => {
    it.each([
      ['now', NOW],
      ['in the past', NOW - 1],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
    ])('throws a TypeError when expiresAt is %s and stores nothing', async (_label, expiresAt) => {
      const store = await newStore()
      await expect(create(store, { expiresAt })).rejects.toThrow(TypeError)
      await expect(create(store, { expiresAt })).rejects.toThrow(
        '"expiresAt" must be in the future or null',
      )
      expect(await store.apiKeys.countLive(ACCOUNT_ID)).toBe(0)
    })

    it('throws a TypeError for an invalid name and stores nothing', async () => {
      const store = await newStore()
      await expect(create(store, { name: '   ' })).rejects.toThrow(TypeError)
      expect(await store.apiKeys.countLive(ACCOUNT_ID)).toBe(0)
    })
  })
})
