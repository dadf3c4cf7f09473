/**
 * The key store contract: what a key service or a resource server keeps: API keys (by hash), the
 * revocation feed, token signing keys and a few settings (the key-hash pepper among them).
 *
 * Every method returns a Promise so that a networked store (PostgreSQL behind several instances)
 * can implement the same interface without changing its callers. SQL stays inside the
 * implementations. Times are milliseconds since the epoch. An application keeps its own records
 * (accounts, say) beside these, in its own tables: the emulator's store is one such application.
 *
 * Three implementations ship: {@link createMemoryStore} (tests, development only),
 * `createSqliteStore` from `@eyepop/auth-core/sqlite` (the embedded default, better-sqlite3, WAL)
 * and `createPostgresStore` from `@eyepop/auth-core/postgres` (several instances on one database).
 *
 * @module
 */
import type { JWK } from 'jose'

/** An API key at rest: never the key itself, only its hash and a hint. */
export interface ApiKeyRecord {
  /** The key id (`key_…`), not secret. */
  readonly id: string
  /** The owning account: the store keeps no accounts of its own, the application does. */
  readonly accountId: string
  /** The name given at creation. */
  readonly name: string
  /** HMAC-SHA-256 of the key (see `hashApiKey`), unique and indexed. */
  readonly hash: string
  /** The last 4 characters of the key, shown to help tell keys apart. */
  readonly hint: string
  /** When the key was created (ms). */
  readonly createdAt: number
  /** When the key stops working (ms), or `null` for never. */
  readonly expiresAt: number | null
  /** When the key last authenticated (ms), or `null`. Written in batches, not per request. */
  readonly lastUsedAt: number | null
  /** When the key was deleted (ms), or `null`. Deleted keys are kept for audit, never reused. */
  readonly deletedAt: number | null
}

/** A token signing key. The private JWK is a secret. */
export interface SigningKeyRecord {
  /** The key id, the `kid` header of the tokens it signs. */
  readonly kid: string
  /** The JWS algorithm (`EdDSA` or `ES256`). */
  readonly alg: 'EdDSA' | 'ES256'
  /** The private key as a JWK (with `kid`). */
  readonly privateJwk: JWK
  /** The public key as a JWK (with `kid`, `alg`, `use: 'sig'`). */
  readonly publicJwk: JWK
  /** When the key was created (ms). */
  readonly createdAt: number
  /** When a newer key replaced it for signing (ms), or `null` while it is the signing key. */
  readonly retiredAt: number | null
}

/** A revoked (deleted) API key in the revocation feed. */
export interface RevokedKey {
  /** The key id. */
  readonly id: string
  /** When it was deleted (ms). */
  readonly deletedAt: number
}

/** A revoked access token (RFC 7009) in the revocation feed. */
export interface RevokedToken {
  /** The token's `jti`. */
  readonly jti: string
  /** When it was revoked (ms). */
  readonly revokedAt: number
  /** When the token expires anyway (ms): the entry is useless after that. */
  readonly expiresAt: number
}

/** The largest page of {@link RevocationRepository.since}, and its default. */
export const REVOCATION_PAGE_LIMIT = 1000

/** Checks a page size for {@link RevocationRepository.since}; the default when undefined. */
export function resolveRevocationPageLimit(limit: number | undefined): number {
  if (limit === undefined) return REVOCATION_PAGE_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > REVOCATION_PAGE_LIMIT) {
    throw new TypeError(`"limit" must be an integer from 1 to ${REVOCATION_PAGE_LIMIT}`)
  }
  return limit
}

/** A page of the revocation feed. */
export interface RevocationPage {
  /** Keys deleted after the cursor that was asked for, in order. */
  readonly revoked: readonly RevokedKey[]
  /** Single tokens revoked after the cursor, in order. Absent means none. */
  readonly revokedTokens?: readonly RevokedToken[]
  /** The cursor to ask with next time. */
  readonly cursor: number
  /** Whether more entries follow this page: ask again at once with `cursor`. Absent: none. */
  readonly more?: boolean
}

/** Options of {@link ApiKeyRepository.list}. */
export interface ListApiKeysOptions {
  /** Include deleted keys. Default is `false`. */
  includeDeleted?: boolean
}

/** API keys, by hash. */
export interface ApiKeyRepository {
  /** Inserts a key. Rejects with `Conflict` on a duplicate id or hash. */
  create(record: ApiKeyRecord): Promise<void>
  /** The key with this id, deleted or not. */
  get(id: string): Promise<ApiKeyRecord | undefined>
  /** The key with this hash (an O(1) indexed lookup), deleted or not. */
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>
  /** The keys of an account, oldest first. */
  list(accountId: string, options?: ListApiKeysOptions): Promise<ApiKeyRecord[]>
  /** How many live (not deleted) keys an account has. */
  countLive(accountId: string): Promise<number>
  /**
   * Inserts a key unless its account already has `maxLive` live (not deleted) keys; resolves
   * `false` then, having written nothing. The count and the insert are one step for every writer
   * of the store: creations racing for an account's last places, in one process or several (a CLI
   * and a server on one SQLite file, instances sharing a PostgreSQL database), leave it with
   * exactly `maxLive` keys. Rejects with `Conflict` on a duplicate id or hash.
   */
  createWithinLimit(record: ApiKeyRecord, maxLive: number): Promise<boolean>
  /**
   * Marks a key deleted at `at` and appends it to the revocation feed.
   * Resolves `false` when the key does not exist or was already deleted.
   */
  markDeleted(id: string, at: number): Promise<boolean>
  /** Records last-use times in one batch; a time older than the stored one is ignored. */
  recordUse(uses: ReadonlyArray<{ id: string; at: number }>): Promise<void>
}

/**
 * The revocation feed: deleted API keys and single revoked tokens, in one ordered sequence.
 * Resource servers poll it to stop refused tokens within a second without a call per request.
 */
export interface RevocationRepository {
  /**
   * Revokes one access token by its `jti` until `expiresAt`. Resolves `false` when it was already
   * revoked.
   */
  revokeToken(jti: string, expiresAt: number, at: number): Promise<boolean>
  /** Whether the token with this `jti` was revoked. */
  isTokenRevoked(jti: string): Promise<boolean>
  /**
   * What was revoked after `cursor` (0 for all), oldest first: at most `limit` entries (default
   * {@link REVOCATION_PAGE_LIMIT}), the next cursor, and whether more follow. Revoked tokens whose
   * expiry has passed may have been purged (see {@link Store.purgeExpired}): they verify nowhere.
   *
   * @throws {TypeError} when `limit` is not an integer from 1 to {@link REVOCATION_PAGE_LIMIT}
   */
  since(cursor: number, limit?: number): Promise<RevocationPage>
}

/** Token signing keys. */
export interface SigningKeyRepository {
  /** Inserts a key. Rejects with `Conflict` on a duplicate kid. */
  create(record: SigningKeyRecord): Promise<void>
  /** Every key, oldest first. */
  list(): Promise<SigningKeyRecord[]>
  /** Marks every key but `kid` that is not yet retired as retired at `at`. */
  retireAllExcept(kid: string, at: number): Promise<void>
  /** Removes keys retired before `before`. */
  prune(before: number): Promise<number>
}

/** Small named values (server secrets, the default account id). */
export interface SettingRepository {
  /** The value of a setting, if set. */
  get(name: string): Promise<string | undefined>
  /**
   * Sets a setting unless it is already set, atomically, and resolves the value that won. Two
   * processes racing on the same data dir both get the same value.
   */
  setIfAbsent(name: string, value: string): Promise<string>
}

/** The key store: API keys, the revocation feed, signing keys and settings. */
export interface KeyStore {
  readonly apiKeys: ApiKeyRepository
  readonly signingKeys: SigningKeyRepository
  readonly revocations: RevocationRepository
  readonly settings: SettingRepository
  /** A short description for logs, e.g. `sqlite:/path/emulator.db` or `memory`. */
  readonly description: string
  /**
   * Deletes what has expired: revoked tokens past their own expiry (their entry is useless after
   * it). A server calls it periodically; `close()` calls it too. Resolves how many entries were
   * deleted.
   */
  purgeExpired(): Promise<number>
  /** Releases the store's resources. Idempotent. */
  close(): Promise<void>
}
