import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, type JWK } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../src/store/memory-store.js'
import { createSqliteStore } from '../../src/store/sqlite-store.js'
import type { KeyStore } from '../../src/store/types.js'
import { issueAccessToken } from '../../src/token/issue.js'
import { loadKeyring, type Keyring, type LoadKeyringOptions } from '../../src/token/keyring.js'
import { createAccessTokenVerifier } from '../../src/token/verify.js'

const T0 = Date.UTC(2025, 0, 15, 12)
const ISSUER = 'https://auth.example.test'
const AUDIENCE = 'https://api.example.test'
const PRIVATE_JWK_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']

let clock: number
const now = () => clock

function issue(keyring: Keyring) {
  return issueAccessToken({
    keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: 'account-1',
    keyId: 'key_1',
    clientId: 'eyepop-sdk',
    scopes: ['access:inference-api'],
    // Long enough to outlive the clock moves below: only the key decides.
    ttlSeconds: 30 * 86_400,
    now,
  })
}

function verifierFor(keys: Keyring | ReturnType<typeof createLocalJWKSet>) {
  return createAccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, now })
}

function kids(keyring: Keyring): string[] {
  return keyring.jwks().keys.map((k) => k.kid!)
}

describe('loadKeyring()', () => {
  let store: KeyStore
  const load = (options: Partial<LoadKeyringOptions> = {}) =>
    loadKeyring({ store, now, ...options })

  beforeEach(() => {
    clock = T0
    store = createMemoryStore({ now })
  })

  describe('on an empty store', () => {
    it('creates and persists exactly one live EdDSA signing key', async () => {
      const keyring = await load()
      const records = await store.signingKeys.list()
      expect(records).toHaveLength(1)
      expect(records[0]).toMatchObject({
        kid: keyring.signingKey.kid,
        alg: 'EdDSA',
        createdAt: T0,
        retiredAt: null,
      })
      expect(keyring.signingKey.alg).toBe('EdDSA')
      expect(kids(keyring)).toEqual([keyring.signingKey.kid])
    })

    it('names the key by the RFC 7638 thumbprint of its public JWK', async () => {
      const keyring = await load()
      const [jwk] = keyring.jwks().keys
      expect(keyring.signingKey.kid).toBe(await calculateJwkThumbprint(jwk!))
    })
  })

  describe('on a store that already has a key', () => {
    it('reuses it: same kid, no new record', async () => {
      const first = await load()
      const second = await load()
      expect(second.signingKey.kid).toBe(first.signingKey.kid)
      expect(await store.signingKeys.list()).toHaveLength(1)
    })

    it('verifies tokens signed before a restart', async () => {
      const first = await load()
      const { accessToken } = await issue(first)
      const second = await load()
      await expect(verifierFor(second)(accessToken)).resolves.toMatchObject({
        claims: { sub: 'account-1' },
      })
    })

    describe('persisted in a SQLite file', () => {
      let dir: string

      beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), 'auth-core-keyring-'))
      })

      afterAll(() => {
        rmSync(dir, { recursive: true, force: true })
      })

      it('keeps the same kid across close and reopen', async () => {
        const filename = join(dir, 'keys.db')
        const before = createSqliteStore({ filename, now })
        const first = await loadKeyring({ store: before, now })
        const { accessToken } = await issue(first)
        await before.close()

        const after = createSqliteStore({ filename, now })
        try {
          const second = await loadKeyring({ store: after, now })
          expect(second.signingKey.kid).toBe(first.signingKey.kid)
          await expect(verifierFor(second)(accessToken)).resolves.toBeDefined()
        } finally {
          await after.close()
        }
      })
    })
  })

  describe('rotate()', () => {
    it('makes a new key the signer and retires the old one in the store', async () => {
      const keyring = await load()
      const oldKid = keyring.signingKey.kid
      clock = T0 + 1000
      const next = await keyring.rotate()
      expect(next.kid).not.toBe(oldKid)
      expect(keyring.signingKey.kid).toBe(next.kid)
      const byKid = Object.fromEntries(
        (await store.signingKeys.list()).map((r) => [r.kid, r.retiredAt]),
      )
      expect(byKid).toEqual({ [oldKid]: T0 + 1000, [next.kid]: null })
    })

    it('signs new tokens with the new kid', async () => {
      const keyring = await load()
      const next = await keyring.rotate()
      const { accessToken } = await issue(keyring)
      expect(decodeProtectedHeader(accessToken).kid).toBe(next.kid)
      await expect(verifierFor(keyring)(accessToken)).resolves.toBeDefined()
    })

    it('keeps verifying tokens signed by the old key and keeps it in the jwks', async () => {
      const keyring = await load()
      const oldKid = keyring.signingKey.kid
      const { accessToken } = await issue(keyring)
      await keyring.rotate()
      expect(kids(keyring).sort()).toEqual([oldKid, keyring.signingKey.kid].sort())
      expect(keyring.verificationKey(oldKid)).toBeDefined()
      await expect(verifierFor(keyring)(accessToken)).resolves.toBeDefined()
      await expect(
        verifierFor(createLocalJWKSet(keyring.jwks()))(accessToken),
      ).resolves.toBeDefined()
    })

    it('lets another keyring on the same store pick up the rotation on reload()', async () => {
      const a = await load()
      const b = await load()
      await a.rotate()
      expect(b.signingKey.kid).not.toBe(a.signingKey.kid)
      await b.reload()
      expect(b.signingKey.kid).toBe(a.signingKey.kid)
      const { accessToken } = await issue(a)
      await expect(verifierFor(b)(accessToken)).resolves.toBeDefined()
    })

    describe('once retiredKeyTtlSeconds have passed', () => {
      const ttlSeconds = 3600

      async function rotated() {
        const keyring = await load({ retiredKeyTtlSeconds: ttlSeconds })
        const oldKid = keyring.signingKey.kid
        const { accessToken } = await issue(keyring)
        clock = T0 + 1000
        await keyring.rotate()
        return { keyring, oldKid, accessToken }
      }

      it('still trusts the old key at the last moment of its ttl', async () => {
        const { keyring, oldKid, accessToken } = await rotated()
        clock = T0 + 1000 + ttlSeconds * 1000
        await keyring.reload()
        expect(kids(keyring)).toContain(oldKid)
        await expect(verifierFor(keyring)(accessToken)).resolves.toBeDefined()
      })

      it('drops the old key from the jwks and from verification after a reload', async () => {
        const { keyring, oldKid, accessToken } = await rotated()
        clock = T0 + 1000 + ttlSeconds * 1000 + 1
        await keyring.reload()
        expect(kids(keyring)).toEqual([keyring.signingKey.kid])
        expect(keyring.verificationKey(oldKid)).toBeUndefined()
        await expect(verifierFor(keyring)(accessToken)).rejects.toMatchObject({
          code: 'ERR_TOKEN_INVALID',
        })
      })

      it('stops verifying with the old key without a reload', async () => {
        const { keyring, oldKid } = await rotated()
        clock = T0 + 1000 + ttlSeconds * 1000 + 1
        expect(keyring.verificationKey(oldKid)).toBeUndefined()
      })

      it('does not load the old key in a keyring started later', async () => {
        const { oldKid } = await rotated()
        clock = T0 + 1000 + ttlSeconds * 1000 + 1
        const later = await load({ retiredKeyTtlSeconds: ttlSeconds })
        expect(later.verificationKey(oldKid)).toBeUndefined()
        expect(kids(later)).not.toContain(oldKid)
      })

      it('prunes the old key from the store on the next rotation', async () => {
        const { keyring, oldKid } = await rotated()
        clock = T0 + 1000 + ttlSeconds * 1000 + 1
        const middle = keyring.signingKey.kid
        const newest = await keyring.rotate()
        const stored = (await store.signingKeys.list()).map((r) => r.kid)
        expect(stored).not.toContain(oldKid)
        expect(stored.sort()).toEqual([middle, newest.kid].sort())
      })
    })
  })

  describe('with alg ES256', () => {
    it('generates a P-256 key whose tokens verify against the keyring and the jwks', async () => {
      const keyring = await load({ alg: 'ES256' })
      expect(keyring.signingKey.alg).toBe('ES256')
      expect(keyring.jwks().keys[0]).toMatchObject({
        kty: 'EC',
        crv: 'P-256',
        alg: 'ES256',
        use: 'sig',
      })
      const { accessToken } = await issue(keyring)
      expect(decodeProtectedHeader(accessToken)).toMatchObject({
        alg: 'ES256',
        kid: keyring.signingKey.kid,
      })
      await expect(verifierFor(keyring)(accessToken)).resolves.toBeDefined()
      await expect(
        verifierFor(createLocalJWKSet(keyring.jwks()))(accessToken),
      ).resolves.toBeDefined()
    })

    it('keeps using the stored EdDSA key: alg only applies to new keys', async () => {
      const eddsa = await load()
      const es = await load({ alg: 'ES256' })
      expect(es.signingKey).toMatchObject({ kid: eddsa.signingKey.kid, alg: 'EdDSA' })
      await es.rotate()
      expect(es.signingKey.alg).toBe('ES256')
    })
  })

  describe('jwks()', () => {
    it.each(['EdDSA', 'ES256'] as const)(
      'publishes %s public keys only, with kid, alg and use',
      async (alg) => {
        const keyring = await load({ alg })
        await keyring.rotate()
        const { keys } = keyring.jwks()
        expect(keys).toHaveLength(2)
        for (const jwk of keys) {
          for (const field of PRIVATE_JWK_FIELDS) expect(jwk).not.toHaveProperty(field)
          expect(jwk).toMatchObject({ alg, use: 'sig', kid: expect.any(String) })
        }
      },
    )

    it('returns copies that callers cannot use to change the keyring', async () => {
      const keyring = await load()
      const jwk = keyring.jwks().keys[0] as JWK
      jwk.kid = 'tampered'
      expect(kids(keyring)).toEqual([keyring.signingKey.kid])
    })
  })

  describe('privateJwks()', () => {
    it('lists the signing key first, with its private part', async () => {
      const keyring = await load()
      await keyring.rotate()
      const jwks = keyring.privateJwks()
      expect(jwks.map((k) => k.kid)).toHaveLength(2)
      expect(jwks[0]).toMatchObject({ kid: keyring.signingKey.kid, d: expect.any(String) })
    })
  })
})

describe('two keyrings on one store (two instances)', () => {
  beforeEach(() => {
    clock = T0
  })

  it("verifies a token signed with a key the other instance created after this one loaded, re-reading the store", async () => {
    const store = createMemoryStore({ now })
    const first = await loadKeyring({ store, now })
    // The other instance rotates (or started at the same moment and made a key of its own).
    const second = await loadKeyring({ store, now })
    await second.rotate()
    const token = await issue(second)
    expect(first.verificationKey(second.signingKey.kid)).toBeUndefined()
    const { claims } = await verifierFor(first)(token.accessToken)
    expect(claims.sub).toBe('account-1')
    // It now signs with the newest key too, and keeps trusting the one it had.
    expect(first.signingKey.kid).toBe(second.signingKey.kid)
  })

  it('re-reads the store at most once a second for kids it does not know', async () => {
    const store = createMemoryStore({ now })
    const keyring = await loadKeyring({ store, now })
    let reads = 0
    const list = store.signingKeys.list.bind(store.signingKeys)
    store.signingKeys.list = async () => {
      reads++
      return list()
    }
    const verify = verifierFor(keyring)
    const token = (await issue(keyring)).accessToken
    const [header, payload, signature] = token.split('.')
    const headerOf = (kid: string) => Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header!, 'base64url').toString()), kid })).toString('base64url')
    for (let i = 0; i < 20; i++) {
      await expect(verify(`${headerOf(`unknown-${i}`)}.${payload}.${signature}`)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    }
    expect(reads).toBe(1)
  })
})
