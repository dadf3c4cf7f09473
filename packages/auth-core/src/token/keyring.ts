import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { JSONWebKeySet, JWK } from 'jose'
import { loadJose } from '../lib/jose.js'
import type { Clock } from '../lib/time.js'
import type { SigningKeyRecord, KeyStore } from '../store/types.js'

/** The JWS algorithms auth-core signs with. RS256 is left out on purpose: its signing cost. */
export type SigningAlgorithm = 'EdDSA' | 'ES256'

/** A key that verifies tokens. */
export interface VerificationKey {
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly key: KeyObject
}

/** The key that signs new tokens. */
export interface SigningKey extends VerificationKey {
  /** The private key. Secret. */
  readonly privateKey: KeyObject
}

/** Options of {@link loadKeyring}. */
export interface LoadKeyringOptions {
  /** Where signing keys persist, so tokens stay valid across restarts. */
  store: KeyStore
  /** The algorithm of a newly generated key. Default is `EdDSA` (Ed25519). */
  alg?: SigningAlgorithm
  /**
   * How long (in seconds) a retired key keeps verifying: the longest token lifetime. Default is
   * 86400 (1 day).
   */
  retiredKeyTtlSeconds?: number
  /** Clock (ms). Default is `Date.now`. */
  now?: Clock
}

/** The signing keys of an issuer: one signs, every unexpired one verifies. */
export interface Keyring {
  /** The key that signs new tokens. */
  readonly signingKey: SigningKey
  /** The public keys that verify tokens (the signing key and the retired keys still in use). */
  jwks(): JSONWebKeySet
  /** The verification key with this `kid`, if it is still trusted. */
  verificationKey(kid: string): VerificationKey | undefined
  /** Generates a new signing key; the old one keeps verifying until its tokens have expired. */
  rotate(): Promise<SigningKey>
  /** Re-reads the keys from the store (another process may have rotated). */
  reload(): Promise<void>
  /** The private JWKs of every trusted key, signing key first (for oidc-provider's `jwks`). */
  privateJwks(): JWK[]
}

/** Generates a signing key pair as a store record. */
export async function generateSigningKey(alg: SigningAlgorithm, now: number): Promise<SigningKeyRecord> {
  const { privateKey } =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const privateJwk = privateKey.export({ format: 'jwk' }) as JWK
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  const kid = await (await loadJose()).calculateJwkThumbprint(publicJwk)
  return {
    kid,
    alg,
    privateJwk: { ...privateJwk, kid, alg, use: 'sig' },
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
    createdAt: now,
    retiredAt: null,
  }
}

/**
 * Loads the issuer's signing keys from the store, generating the first one if there is none.
 *
 * The newest key that is not retired signs. Retired keys verify for `retiredKeyTtlSeconds` after
 * their retirement, so rotation never breaks a token that was valid.
 *
 * @example
 * ```ts
 * const keyring = await loadKeyring({ store })
 * await keyring.rotate()
 * ```
 */
export async function loadKeyring(options: LoadKeyringOptions): Promise<Keyring> {
  const { store } = options
  const alg = options.alg ?? 'EdDSA'
  const now = options.now ?? Date.now
  const retiredTtlMs = (options.retiredKeyTtlSeconds ?? 86_400) * 1000
  let signing: SigningKey
  let trusted = new Map<string, VerificationKey & { record: SigningKeyRecord }>()

  async function read(): Promise<void> {
    let records = await store.signingKeys.list()
    if (!records.some((r) => r.retiredAt === null)) {
      await store.signingKeys.create(await generateSigningKey(alg, now()))
      records = await store.signingKeys.list()
    }
    const next = new Map<string, VerificationKey & { record: SigningKeyRecord }>()
    let newest: SigningKeyRecord | undefined
    for (const record of records) {
      if (record.retiredAt !== null && record.retiredAt + retiredTtlMs < now()) continue
      next.set(record.kid, {
        kid: record.kid,
        alg: record.alg,
        key: createPublicKey({ key: record.publicJwk, format: 'jwk' }),
        record,
      })
      if (record.retiredAt === null && (!newest || record.createdAt >= newest.createdAt)) {
        newest = record
      }
    }
    const chosen = next.get(newest!.kid)!
    signing = {
      kid: chosen.kid,
      alg: chosen.alg,
      key: chosen.key,
      privateKey: createPrivateKey({ key: newest!.privateJwk, format: 'jwk' }),
    }
    trusted = next
  }

  await read()

  return {
    get signingKey() {
      return signing
    },
    jwks() {
      return { keys: [...trusted.values()].map((k) => ({ ...k.record.publicJwk })) }
    },
    verificationKey(kid) {
      const key = trusted.get(kid)
      // A retired key stops verifying once every token it signed has expired, even in a process
      // that never reloads.
      if (key?.record.retiredAt != null && key.record.retiredAt + retiredTtlMs < now()) return undefined
      return key
    },
    async rotate() {
      const record = await generateSigningKey(alg, now())
      await store.signingKeys.create(record)
      await store.signingKeys.retireAllExcept(record.kid, now())
      await store.signingKeys.prune(now() - retiredTtlMs)
      await read()
      return signing
    },
    reload: read,
    privateJwks() {
      const keys = [...trusted.values()]
      keys.sort((a, b) => (a.kid === signing.kid ? -1 : b.kid === signing.kid ? 1 : 0))
      return keys.map((k) => ({ ...k.record.privateJwk }))
    },
  }
}
