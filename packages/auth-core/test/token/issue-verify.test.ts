import { createPublicKey } from 'node:crypto'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, SignJWT, type JWTPayload } from 'jose'
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryStore } from '../../src/store/memory-store.js'
import type { KeyStore } from '../../src/store/types.js'
import { issueAccessToken, type IssueAccessTokenOptions } from '../../src/token/issue.js'
import { loadKeyring, type Keyring } from '../../src/token/keyring.js'
import { createRevocationList } from '../../src/token/revocation-list.js'
import { createAccessTokenVerifier, type VerificationKeySource } from '../../src/token/verify.js'

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0, 250)
const T0_S = Math.floor(T0 / 1000)
const ISSUER = 'https://auth.example.test'
const AUDIENCE = 'https://api.example.test'
const ACCOUNT_ID = '6f1c2a9e-8d3b-4c5a-9f7e-1b2c3d4e5f60'

let clock: number
const now = () => clock

let store: KeyStore
let keyring: Keyring
let otherKeyring: Keyring

beforeAll(async () => {
  store = createMemoryStore()
  keyring = await loadKeyring({ store, now: () => T0 })
  otherKeyring = await loadKeyring({ store: createMemoryStore(), now: () => T0 })
})

beforeEach(() => {
  clock = T0
})

function issue(overrides: Partial<IssueAccessTokenOptions> = {}) {
  return issueAccessToken({
    keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: ACCOUNT_ID,
    keyId: 'key_live',
    clientId: 'eyepop-sdk',
    scopes: ['access:inference-api', 'access:datasets'],
    ttlSeconds: 3600,
    now,
    ...overrides,
  })
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Re-signs `claims` with the keyring's own private key, to build tokens the issuer never would. */
function signWithKeyring(claims: JWTPayload, header: Record<string, unknown> = {}) {
  const { signingKey } = keyring
  return new SignJWT(claims)
    .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'at+jwt', ...header })
    .sign(signingKey.privateKey)
}

function claimsFor(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    sub: ACCOUNT_ID,
    aud: AUDIENCE,
    iat: T0_S,
    exp: T0_S + 3600,
    jti: 'jti-1',
    scope: 'access:inference-api',
    client_id: 'eyepop-sdk',
    key_id: 'key_live',
    ...overrides,
  }
}

/** Every 12-character window of the token's segments, at a stride of 4: any echo shows up. */
function chunks(token: string): string[] {
  const out: string[] = []
  for (const part of token.split('.')) {
    for (let i = 0; i + 12 <= part.length; i += 4) out.push(part.slice(i, i + 12))
  }
  return out
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; claim?: string }> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: unknown) => err as Error & { code?: string; claim?: string },
  )
}

describe('issueAccessToken()', () => {
  it('signs a JWT with typ at+jwt, the alg and the kid of the signing key', async () => {
    const { accessToken } = await issue()
    expect(decodeProtectedHeader(accessToken)).toEqual({
      alg: 'EdDSA',
      kid: keyring.signingKey.kid,
      typ: 'at+jwt',
    })
  })

  it('carries every claim, in seconds, and reports its lifetime', async () => {
    const result = await issue()
    const claims = decodeJwt(result.accessToken)
    expect(claims).toEqual({
      iss: ISSUER,
      sub: ACCOUNT_ID,
      aud: AUDIENCE,
      iat: T0_S,
      exp: T0_S + 3600,
      jti: expect.stringMatching(/^[0-9A-Za-z]{22}$/),
      scope: 'access:inference-api access:datasets',
      client_id: 'eyepop-sdk',
      key_id: 'key_live',
    })
    expect(result.claims).toEqual(claims)
    expect(result.expiresIn).toBe(3600)
    expect(result.expiresAt).toBe((T0_S + 3600) * 1000)
  })

  it('gives every token its own jti', async () => {
    const a = await issue()
    const b = await issue()
    expect(a.claims.jti).not.toBe(b.claims.jti)
  })

  describe('with notAfter', () => {
    it('caps exp at notAfter when it comes first', async () => {
      const result = await issue({ notAfter: T0 + 600_000 })
      expect(result.claims.exp).toBe(T0_S + 600)
      expect(result.expiresIn).toBe(600)
      expect(decodeJwt(result.accessToken).exp).toBe(T0_S + 600)
    })

    it('leaves exp alone when notAfter comes later, or is null', async () => {
      expect((await issue({ notAfter: T0 + 7_200_000 })).claims.exp).toBe(T0_S + 3600)
      expect((await issue({ notAfter: null })).claims.exp).toBe(T0_S + 3600)
    })
  })

  describe('with an invalid ttlSeconds', () => {
    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
      'throws a TypeError for %s',
      async (ttlSeconds) => {
        await expect(issue({ ttlSeconds })).rejects.toThrow(TypeError)
        await expect(issue({ ttlSeconds })).rejects.toThrow(
          '"ttlSeconds" option must be a positive integer',
        )
      },
    )
  })
})

const keySources: Array<[string, () => VerificationKeySource]> = [
  ['a keyring', () => keyring],
  ['a remote-style JWKS (createLocalJWKSet)', () => createLocalJWKSet(keyring.jwks())],
]

describe.each(keySources)('createAccessTokenVerifier() against %s', (_label, keys) => {
  const verifier = (options: { audience?: string | string[]; issuer?: string } = {}) =>
    createAccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: keys(), now, ...options })

  describe('with a valid token', () => {
    it('resolves the claims and the scopes', async () => {
      const { accessToken, claims } = await issue()
      await expect(verifier()(accessToken)).resolves.toEqual({
        claims,
        scopes: ['access:inference-api', 'access:datasets'],
      })
    })

    it('resolves an empty scope list for a token without scopes', async () => {
      const { accessToken } = await issue({ scopes: [] })
      await expect(verifier()(accessToken)).resolves.toMatchObject({ scopes: [] })
    })

    it('accepts a token for one of several audiences', async () => {
      const { accessToken } = await issue({ audience: ['https://other.example.test', AUDIENCE] })
      await expect(verifier()(accessToken)).resolves.toBeDefined()
      const { accessToken: single } = await issue()
      await expect(
        verifier({ audience: ['https://x.example.test', AUDIENCE] })(single),
      ).resolves.toBeDefined()
    })

    it('accepts it within 5 seconds of clock tolerance past exp', async () => {
      const { accessToken } = await issue()
      clock = (T0_S + 3600 + 5) * 1000 - 1
      await expect(verifier()(accessToken)).resolves.toBeDefined()
    })

    it('accepts an ES256 token from a keyring that rotated to ES256', async () => {
      const esStore = createMemoryStore()
      const es = await loadKeyring({ store: esStore, alg: 'ES256', now })
      const { accessToken } = await issue({ keyring: es })
      const esKeys = keys() === keyring ? es : createLocalJWKSet(es.jwks())
      const verify = createAccessTokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: esKeys,
        now,
      })
      await expect(verify(accessToken)).resolves.toBeDefined()
    })
  })

  describe('with a forged or broken token', () => {
    it('rejects a tampered payload with ERR_TOKEN_INVALID', async () => {
      const { accessToken } = await issue()
      const [header, payload, signature] = accessToken.split('.')
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
      const tampered = [header, b64url({ ...claims, sub: 'someone-else' }), signature].join('.')
      await expect(verifier()(tampered)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    })

    it('rejects the same token in another spelling (padding, other unused bits) with ERR_TOKEN_INVALID, cached or not', async () => {
      const { accessToken } = await issue()
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      // An Ed25519 signature is 64 bytes: 86 characters, the last carrying 2 bits and 4 unused ones.
      const last = alphabet.indexOf(accessToken.at(-1)!)
      const sameBytes = alphabet[(last & 0b110000) | ((last + 1) & 0b001111)]!
      const [header, payload, signature] = accessToken.split('.')
      const spellings = [
        `${accessToken}==`,
        `${accessToken.slice(0, -1)}${sameBytes}`,
        [header, `${payload}=`, signature].join('.'),
        [`${header}==`, payload, signature].join('.'),
      ]
      for (const spelling of spellings) {
        expect(Buffer.from(spelling.split('.')[2]!, 'base64url')).toEqual(Buffer.from(signature!, 'base64url'))
      }
      const verify = verifier()
      for (const round of ['before', 'after']) {
        for (const spelling of spellings) {
          await expect(verify(spelling), `${round}: ${spelling.slice(-4)}`).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
        }
        // Verified (and cached) in canonical form, it stays the only spelling accepted.
        await verify(accessToken)
      }
    })

    it('rejects a tampered signature with ERR_TOKEN_INVALID', async () => {
      const { accessToken } = await issue()
      const last = accessToken.at(-2) === 'A' ? 'B' : 'A'
      const tampered = accessToken.slice(0, -2) + last + accessToken.at(-1)
      await expect(verifier()(tampered)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    })

    it('rejects a token signed by another keyring with ERR_TOKEN_INVALID', async () => {
      const { accessToken } = await issue({ keyring: otherKeyring })
      await expect(verifier()(accessToken)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    })

    it("rejects a token signed by another key under this keyring's kid with ERR_TOKEN_INVALID", async () => {
      const forged = await new SignJWT(claimsFor())
        .setProtectedHeader({ alg: 'EdDSA', kid: keyring.signingKey.kid, typ: 'at+jwt' })
        .sign(otherKeyring.signingKey.privateKey)
      await expect(verifier()(forged)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    })

    it('rejects an unsigned alg "none" token with ERR_TOKEN_INVALID', async () => {
      const header = { alg: 'none', typ: 'at+jwt', kid: keyring.signingKey.kid }
      const unsigned = `${b64url(header)}.${b64url(claimsFor())}.`
      await expect(verifier()(unsigned)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    })

    it('rejects an HS256 token keyed with the public key bytes with ERR_TOKEN_INVALID', async () => {
      const publicKey = createPublicKey(keyring.signingKey.privateKey)
      const secrets = [
        Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string),
        publicKey.export({ type: 'spki', format: 'der' }),
        Buffer.from(JSON.stringify(keyring.jwks().keys[0])),
        Buffer.from(keyring.jwks().keys[0]!.x!, 'base64url'),
      ]
      for (const secret of secrets) {
        const forged = await new SignJWT(claimsFor())
          .setProtectedHeader({ alg: 'HS256', kid: keyring.signingKey.kid, typ: 'at+jwt' })
          .sign(new Uint8Array(secret))
        await expect(verifier()(forged)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
      }
    })

    it('rejects a token whose header names an alg the key is not for with ERR_TOKEN_INVALID', async () => {
      const { accessToken } = await issue()
      const [, payload, signature] = accessToken.split('.')
      const header = { alg: 'ES256', kid: keyring.signingKey.kid, typ: 'at+jwt' }
      await expect(verifier()(`${b64url(header)}.${payload}.${signature}`)).rejects.toMatchObject({
        code: 'ERR_TOKEN_INVALID',
      })
    })

    it.each([
      ['a word', 'garbage'],
      ['two segments', 'abc.def'],
      ['three empty segments', '..'],
      ['base64url that is not JSON', 'YWJj.ZGVm.Z2hp'],
      ['a JWE-shaped value', 'a.b.c.d.e'],
      ['an api key', `eyp_${'A'.repeat(50)}`],
      ['a token with a space', 'eyJ hbGci.eyJ.sig'],
    ])('rejects %s with ERR_TOKEN_INVALID', async (_label, garbage) => {
      await expect(verifier()(garbage)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    })

    it('rejects an empty string and non-strings with ERR_TOKEN_INVALID', async () => {
      await expect(verifier()('')).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
      await expect(verifier()(undefined as unknown as string)).rejects.toMatchObject({
        code: 'ERR_TOKEN_INVALID',
      })
      await expect(verifier()(42 as unknown as string)).rejects.toMatchObject({
        code: 'ERR_TOKEN_INVALID',
      })
    })
  })

  describe('with a token whose claims do not hold', () => {
    it('rejects an expired token with ERR_TOKEN_EXPIRED', async () => {
      const { accessToken } = await issue()
      clock = (T0_S + 3600 + 5) * 1000
      await expect(verifier()(accessToken)).rejects.toMatchObject({ code: 'ERR_TOKEN_EXPIRED' })
    })

    it('rejects a token whose notAfter has passed with ERR_TOKEN_EXPIRED', async () => {
      const { accessToken } = await issue({ notAfter: T0 + 60_000 })
      clock = T0 + 120_000
      await expect(verifier()(accessToken)).rejects.toMatchObject({ code: 'ERR_TOKEN_EXPIRED' })
    })

    it('rejects a wrong issuer with ERR_TOKEN_CLAIM_INVALID on iss', async () => {
      const { accessToken } = await issue({ issuer: 'https://evil.example.test' })
      await expect(verifier()(accessToken)).rejects.toMatchObject({
        code: 'ERR_TOKEN_CLAIM_INVALID',
        claim: 'iss',
      })
    })

    it('rejects a wrong audience with ERR_TOKEN_CLAIM_INVALID on aud', async () => {
      const { accessToken } = await issue({ audience: 'https://other.example.test' })
      await expect(verifier()(accessToken)).rejects.toMatchObject({
        code: 'ERR_TOKEN_CLAIM_INVALID',
        claim: 'aud',
      })
    })

    it('rejects an iat in the future with ERR_TOKEN_CLAIM_INVALID on iat', async () => {
      const { accessToken } = await issue({ now: () => T0 + 60_000 })
      await expect(verifier()(accessToken)).rejects.toMatchObject({
        code: 'ERR_TOKEN_CLAIM_INVALID',
        claim: 'iat',
      })
    })

    it('accepts an iat up to 5 seconds in the future (clock skew)', async () => {
      const { accessToken } = await issue({ now: () => T0 + 5_000 })
      await expect(verifier()(accessToken)).resolves.toBeDefined()
    })

    it('rejects a token not yet valid (nbf) with ERR_TOKEN_CLAIM_INVALID on nbf', async () => {
      const token = await signWithKeyring(claimsFor({ nbf: T0_S + 60 }))
      await expect(verifier()(token)).rejects.toMatchObject({
        code: 'ERR_TOKEN_CLAIM_INVALID',
        claim: 'nbf',
      })
    })

    it.each(['key_id', 'sub', 'jti', 'exp', 'iat'])(
      'rejects a token without %s with ERR_TOKEN_CLAIM_INVALID on that claim',
      async (claim) => {
        const claims = claimsFor()
        delete claims[claim]
        const token = await signWithKeyring(claims)
        await expect(verifier()(token)).rejects.toMatchObject({
          code: 'ERR_TOKEN_CLAIM_INVALID',
          claim,
        })
      },
    )

    it('rejects a non-string key_id with ERR_TOKEN_CLAIM_INVALID on key_id', async () => {
      const token = await signWithKeyring(claimsFor({ key_id: 42 }))
      await expect(verifier()(token)).rejects.toMatchObject({
        code: 'ERR_TOKEN_CLAIM_INVALID',
        claim: 'key_id',
      })
    })

    it('rejects a token of another type (an ID token) with ERR_TOKEN_CLAIM_INVALID on typ', async () => {
      const token = await signWithKeyring(claimsFor(), { typ: 'JWT' })
      await expect(verifier()(token)).rejects.toMatchObject({
        code: 'ERR_TOKEN_CLAIM_INVALID',
        claim: 'typ',
      })
    })
  })

  describe('error messages', () => {
    it('never contain the token or any of its parts', async () => {
      const { accessToken } = await issue()
      const [header, payload, signature] = accessToken.split('.')
      const { accessToken: wrongAudience } = await issue({ audience: 'https://other.example.test' })
      const { accessToken: foreign } = await issue({ keyring: otherKeyring })
      const { accessToken: future } = await issue({ now: () => T0 + 60_000 })
      const cases = [
        { token: `${header}.${b64url({ sub: 'x' })}.${signature}`, at: T0 },
        { token: accessToken, at: T0 + 7_200_000 },
        { token: wrongAudience, at: T0 },
        { token: foreign, at: T0 },
        { token: future, at: T0 },
        { token: `${accessToken}x`, at: T0 },
        { token: `${header}.${payload}`, at: T0 },
      ]
      for (const { token, at } of cases) {
        clock = at
        const err = await rejection(verifier()(token))
        expect(err.code).toMatch(/^ERR_TOKEN_/)
        const messages = [err.message, String(err), (err.cause as Error | undefined)?.message ?? '']
        for (const message of messages) {
          for (const chunk of chunks(token)) expect(message).not.toContain(chunk)
        }
      }
    })
  })
})

describe('createAccessTokenVerifier() with a revocation list', () => {
  it('rejects a token of a deleted api key with ERR_TOKEN_REVOKED, and only that key', async () => {
    const revStore = createMemoryStore()
    for (const id of ['key_live', 'key_gone']) {
      await revStore.apiKeys.create({
        id,
        accountId: ACCOUNT_ID,
        name: id,
        hash: `hash-${id}`,
        hint: 'abcd',
        createdAt: T0,
        expiresAt: null,
        lastUsedAt: null,
        deletedAt: null,
      })
    }
    const revocations = await createRevocationList({
      source: (cursor) => revStore.revocations.since(cursor),
      pollIntervalMs: 60_000,
      now,
    })
    try {
      const verify = createAccessTokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: keyring,
        revocations,
        // the list is synced by hand here, not by its timer
        revocationMaxAgeMs: 600_000,
        now,
      })
      const { accessToken: live } = await issue({ keyId: 'key_live' })
      const { accessToken: gone } = await issue({ keyId: 'key_gone' })
      await expect(verify(gone)).resolves.toBeDefined()

      await revStore.apiKeys.markDeleted('key_gone', T0)
      await revocations.sync()

      const err = await rejection(verify(gone))
      expect(err).toMatchObject({ code: 'ERR_TOKEN_REVOKED' })
      expect(err.message).not.toContain(gone.split('.')[1])
      await expect(verify(live)).resolves.toBeDefined()
    } finally {
      revocations.stop()
    }
  })

  it('fails closed with ERR_REVOCATION_STALE once the revocation list is older than revocationMaxAgeMs', async () => {
    // The list's age is monotonic time: faked, so that a stalled machine cannot make it stale
    // before the first verification.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    let calls = 0
    const revocations = await createRevocationList({
      source: async () => {
        if (calls++ > 0) throw new Error('feed unreachable')
        return { revoked: [], cursor: 0 }
      },
      pollIntervalMs: 10,
      now,
    })
    try {
      const verify = createAccessTokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: keyring,
        revocations,
        revocationMaxAgeMs: 50,
        now,
      })
      const { accessToken } = await issue({ keyId: 'key_live' })
      await expect(verify(accessToken)).resolves.toBeDefined()
      await vi.advanceTimersByTimeAsync(120)
      expect(calls).toBeGreaterThan(1)
      await expect(verify(accessToken)).rejects.toMatchObject({ code: 'ERR_REVOCATION_STALE' })
    } finally {
      revocations.stop()
      vi.useRealTimers()
    }
  })
})

describe('createAccessTokenVerifier() cache of verified tokens', () => {
  /** A jose key getter over the keyring that counts signature checks. */
  function countingKeys(source: Keyring = keyring) {
    const counter = { calls: 0 }
    const getKey: VerificationKeySource = (header) => {
      counter.calls++
      const key = header.kid === undefined ? undefined : source.verificationKey(header.kid)
      if (!key) throw new Error('no key')
      return key.key
    }
    return { counter, getKey }
  }

  /** A revocation list under the test's control. */
  function fakeRevocations() {
    const keys = new Set<string>()
    const tokens = new Set<string>()
    return {
      keys,
      tokens,
      ageMs: 0,
      syncedAt: T0,
      size: 0,
      isRevoked: (id: string) => keys.has(id),
      isTokenRevoked: (jti: string) => tokens.has(jti),
      sync: async () => undefined,
      stop: () => undefined,
    }
  }

  function verifierWith(getKey: VerificationKeySource, extra: Partial<Parameters<typeof createAccessTokenVerifier>[0]> = {}) {
    return createAccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: getKey, clockToleranceSeconds: 0, now, ...extra })
  }

  it('checks the signature of a reused token once, and answers the same claims', async () => {
    const { counter, getKey } = countingKeys()
    const verify = verifierWith(getKey)
    const { accessToken } = await issue()
    const first = await verify(accessToken)
    const second = await verify(accessToken)
    expect(counter.calls).toBe(1)
    expect(second.claims).toEqual(first.claims)
    expect(Object.isFrozen(second.claims)).toBe(true)
    expect(Object.isFrozen(second.scopes)).toBe(true)
  })

  it('never serves a changed token from the cache', async () => {
    const { counter, getKey } = countingKeys()
    const verify = verifierWith(getKey)
    const { accessToken } = await issue()
    await verify(accessToken)
    const [h, p, s] = accessToken.split('.') as [string, string, string]
    // The second-to-last character: all six of its bits are signature bits
    // (the last one's low bits are padding, so changing only those changes nothing).
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`
    await expect(verify(flipped)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    expect(counter.calls).toBe(2)
  })

  it('never serves a token with a cached signature and another payload, nor evicts the cached one', async () => {
    const { counter, getKey } = countingKeys()
    const verify = verifierWith(getKey)
    const { accessToken } = await issue()
    await verify(accessToken)
    const [h, p, s] = accessToken.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${s}`
    expect(verify.cached!(forged)).toBeUndefined()
    await expect(verify(forged)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    expect(counter.calls).toBe(2)
    expect(verify.cached!(accessToken)?.claims.sub).toBe(claims.sub)
    await verify(accessToken)
    expect(counter.calls).toBe(2)
  })

  it('refuses a cached token once it expires', async () => {
    const { getKey } = countingKeys()
    const verify = verifierWith(getKey)
    const { accessToken } = await issue({ ttlSeconds: 60 })
    await verify(accessToken)
    clock = T0 + 59_000
    await expect(verify(accessToken)).resolves.toBeDefined()
    clock = (T0_S + 60) * 1000
    await expect(verify(accessToken)).rejects.toMatchObject({ code: 'ERR_TOKEN_EXPIRED' })
  })

  it('refuses a cached token once its api key or the token itself is revoked, and fails closed on a stale list', async () => {
    const { getKey } = countingKeys()
    const revocations = fakeRevocations()
    const verify = verifierWith(getKey, { revocations })
    const { accessToken: a } = await issue({ keyId: 'key_a' })
    const { accessToken: b, claims } = await issue({ keyId: 'key_b' })
    await verify(a)
    await verify(b)
    revocations.ageMs = 10_000
    await expect(verify(a)).rejects.toMatchObject({ code: 'ERR_REVOCATION_STALE' })
    revocations.ageMs = 0
    await expect(verify(a)).resolves.toBeDefined()
    revocations.keys.add('key_a')
    await expect(verify(a)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED', reason: 'key_deleted' })
    revocations.tokens.add(claims.jti)
    await expect(verify(b)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED', reason: 'token_revoked' })
  })

  it('refuses a cached token once its signing key is no longer trusted by the keyring', async () => {
    const rotStore = createMemoryStore()
    let at = T0
    const rotating = await loadKeyring({ store: rotStore, now: () => at, retiredKeyTtlSeconds: 3600 })
    // Long enough that only the keyring check can drop the entry.
    const cache = { maxAgeMs: 86_400_000 }
    const verify = createAccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: rotating, cache, now })
    const { accessToken } = await issue({ keyring: rotating, ttlSeconds: 86_400 })
    await verify(accessToken)
    await rotating.rotate()
    await expect(verify(accessToken)).resolves.toBeDefined()
    at = T0 + 3601_000
    clock = at
    await expect(verify(accessToken)).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
  })

  it('checks the signature again after maxAgeMs, and evicts the oldest entry past maxEntries', async () => {
    const { counter, getKey } = countingKeys()
    const verify = verifierWith(getKey, { cache: { maxEntries: 2, maxAgeMs: 1000 } })
    const tokens = await Promise.all([1, 2, 3].map(() => issue().then((t) => t.accessToken)))
    await verify(tokens[0]!)
    await verify(tokens[0]!)
    expect(counter.calls).toBe(1)
    clock = T0 + 1000
    await verify(tokens[0]!)
    expect(counter.calls).toBe(2)
    await verify(tokens[1]!)
    await verify(tokens[2]!)
    expect(counter.calls).toBe(4)
    await verify(tokens[2]!)
    expect(counter.calls).toBe(4)
    // tokens[0] was the oldest of three in a cache of two
    await verify(tokens[0]!)
    expect(counter.calls).toBe(5)
  })

  it('drops a token unused for idleMs: on its next lookup, and by a sweep as new tokens arrive', async () => {
    const { counter, getKey } = countingKeys()
    const verify = verifierWith(getKey, { cache: { idleMs: 1000 } })
    const tokens = await Promise.all([1, 2, 3, 4].map(() => issue().then((t) => t.accessToken)))
    await verify(tokens[0]!)
    await verify(tokens[1]!)
    expect(verify.cacheSize).toBe(2)
    // tokens[1] is used within idleMs, so it stays; tokens[0] is not.
    clock = T0 + 900
    await verify(tokens[1]!)
    clock = T0 + 1800
    await verify(tokens[1]!)
    expect(counter.calls).toBe(2)
    await verify(tokens[0]!)
    expect(counter.calls).toBe(3)
    // Tokens nobody asks for again are swept when new ones are remembered, not kept until maxEntries.
    clock = T0 + 5000
    await verify(tokens[2]!)
    expect(verify.cacheSize).toBe(1)
    await verify(tokens[3]!)
    expect(verify.cacheSize).toBe(2)
    expect(verify.cached!(tokens[2]!)).toBeDefined()
    expect(counter.calls).toBe(5)
  })

  it('keeps a token in use past idleMs until maxAgeMs, then checks its signature again', async () => {
    const { counter, getKey } = countingKeys()
    const verify = verifierWith(getKey, { cache: { idleMs: 1000, maxAgeMs: 3000 } })
    const { accessToken } = await issue()
    for (let at = 0; at < 3000; at += 500) {
      clock = T0 + at
      await verify(accessToken)
    }
    expect(counter.calls).toBe(1)
    clock = T0 + 3000
    await verify(accessToken)
    expect(counter.calls).toBe(2)
  })

  it('checks every call with cache: false', async () => {
    const { counter, getKey } = countingKeys()
    const verify = verifierWith(getKey, { cache: false })
    const { accessToken } = await issue()
    await verify(accessToken)
    await verify(accessToken)
    expect(counter.calls).toBe(2)
  })
})

describe('issueAccessToken() with an ES256 keyring', () => {
  it('signs a token that jose verifies with the published key (raw r||s signature)', async () => {
    const es = await loadKeyring({ store: createMemoryStore(), alg: 'ES256', now: () => T0 })
    const { accessToken } = await issue({ keyring: es })
    expect(decodeProtectedHeader(accessToken)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: es.signingKey.kid })
    expect(Buffer.from(accessToken.split('.')[2]!, 'base64url')).toHaveLength(64)
    const verify = createAccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: createLocalJWKSet(es.jwks()), now })
    await expect(verify(accessToken)).resolves.toMatchObject({ claims: { key_id: 'key_live' } })
  })
})
