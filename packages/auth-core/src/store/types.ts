/**
 * The store contract: accounts, API keys, Pops, signing keys, settings and oidc-provider artifacts.
 *
 * Every method returns a Promise so that a networked store (PostgreSQL behind several emulator
 * instances) can implement the same interface without changing its callers. SQL stays inside the
 * implementations. Times are milliseconds since the epoch.
 *
 * Two implementations ship: {@link createMemoryStore} (tests, development only) and
 * `createSqliteStore` from `@eyepop/auth-core/sqlite` (the embedded default, better-sqlite3, WAL).
 *
 * @module
 */
import type { JWK } from 'jose'

/** A customer account. */
export interface AccountRecord {
  /** The account id (a UUID, as EyePop's `account_uuid`). */
  readonly id: string
  /** The sign-in email, unique. */
  readonly email: string
  /** A display name. */
  readonly name: string
  /** When the account was created (ms). */
  readonly createdAt: number
  /**
   * The sign-in password as a self-describing scrypt hash (`scrypt$N$r$p$salt$hash`), or `null`
   * when the account cannot sign in with a password. Secret: never shown, never logged.
   */
  readonly passwordHash: string | null
}

/** An API key at rest: never the key itself, only its hash and a hint. */
export interface ApiKeyRecord {
  /** The key id (`key_…`), not secret. */
  readonly id: string
  /** The owning account. */
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

/** A Pop: a computer-vision pipeline of an account. */
export interface PopRecord {
  /** The Pop id (32 hex characters). */
  readonly id: string
  /** The owning account. */
  readonly accountId: string
  /** The Pop's name. */
  readonly name: string
  /** When the Pop was created (ms). */
  readonly createdAt: number
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

/** Accounts. */
export interface AccountRepository {
  /** Inserts an account. Rejects with `Conflict` on a duplicate id or email. */
  create(record: AccountRecord): Promise<void>
  /** The account with this id, if any. */
  get(id: string): Promise<AccountRecord | undefined>
  /** The account with this email (case-insensitive), if any. */
  findByEmail(email: string): Promise<AccountRecord | undefined>
  /** Every account, oldest first. */
  list(): Promise<AccountRecord[]>
  /**
   * Replaces the password hash of an account (`null` turns password sign-in off). Resolves
   * `false` when the account does not exist.
   */
  setPasswordHash(id: string, hash: string | null): Promise<boolean>
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

/** Pops. */
export interface PopRepository {
  /** Inserts a Pop. Rejects with `Conflict` on a duplicate id. */
  create(record: PopRecord): Promise<void>
  /** The Pop with this id, if any. */
  get(id: string): Promise<PopRecord | undefined>
  /** The Pops of an account, oldest first. */
  list(accountId: string): Promise<PopRecord[]>
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

/** A stored oidc-provider payload (see oidc-provider's adapter contract). */
export type OidcPayload = Record<string, unknown> & {
  uid?: string
  userCode?: string
  grantId?: string
  consumed?: number
}

/** oidc-provider artifacts (sessions, grants, interactions, codes, device codes). */
export interface OidcArtifactRepository {
  /** Inserts or replaces a payload that expires after `expiresInSeconds`. */
  upsert(model: string, id: string, payload: OidcPayload, expiresInSeconds?: number): Promise<void>
  /** The live payload, if any. */
  find(model: string, id: string): Promise<OidcPayload | undefined>
  /** The live payload with this `uid`. */
  findByUid(model: string, uid: string): Promise<OidcPayload | undefined>
  /** The live payload with this `userCode`. */
  findByUserCode(model: string, userCode: string): Promise<OidcPayload | undefined>
  /** Marks a payload consumed now. */
  consume(model: string, id: string): Promise<void>
  /** Removes a payload. */
  destroy(model: string, id: string): Promise<void>
  /** Removes every payload of a grant. */
  revokeByGrantId(grantId: string): Promise<void>
}

/**
 * What an audit event records:
 * - `key.created`, `key.deleted`: a key was created or deleted (from the API, the dashboard or
 *   the CLI);
 * - `key.first_used`: a key authenticated for the first time;
 * - `auth.failed`: a known key was refused because it had expired or was deleted.
 */
export type AuditEventType = 'key.created' | 'key.first_used' | 'key.deleted' | 'auth.failed'

/**
 * One event of an account's audit log. Events never hold a secret: no key, no token, no hash.
 */
export interface AuditEvent {
  /** The event id: increasing in the order events were appended, a cursor for paging. */
  readonly id: number
  /** The account the event belongs to. */
  readonly accountId: string
  /** The key the event is about, or `null` for an event about no single key. */
  readonly keyId: string | null
  /** What happened. */
  readonly type: AuditEventType
  /** When it happened (ms). */
  readonly at: number
  /** Non-secret details, e.g. `{ name, expires }` or `{ reason: 'expired' }`. */
  readonly detail: Readonly<Record<string, string>>
}

/** An event to append: the store assigns its {@link AuditEvent.id}. */
export type AuditEventInput = Omit<AuditEvent, 'id'>

/** Options of {@link AuditRepository.list}. */
export interface ListAuditEventsOptions {
  /** The most events to return, from 1 to 1000. Default is 100. */
  limit?: number
  /** Only events with an id below this one: the id of the last event of the previous page. */
  before?: number
  /** Only the events of this key. */
  keyId?: string
}

/**
 * The audit log of key events: append-only. Events are not checked against accounts or keys, so
 * a batch is never refused because of one of its events.
 */
export interface AuditRepository {
  /** Appends events in one batch, in order. An empty batch does nothing. */
  append(events: readonly AuditEventInput[]): Promise<void>
  /**
   * The events of an account, newest first.
   *
   * @throws {TypeError} when `limit` is not an integer from 1 to 1000 or `before` is not an integer
   */
  list(accountId: string, options?: ListAuditEventsOptions): Promise<AuditEvent[]>
}

/** The whole store. */
export interface Store {
  readonly accounts: AccountRepository
  readonly apiKeys: ApiKeyRepository
  readonly pops: PopRepository
  readonly signingKeys: SigningKeyRepository
  readonly revocations: RevocationRepository
  readonly settings: SettingRepository
  readonly oidc: OidcArtifactRepository
  readonly audit: AuditRepository
  /** A short description for logs, e.g. `sqlite:/path/emulator.db` or `memory`. */
  readonly description: string
  /**
   * Deletes what has expired: oidc-provider artifacts past their expiry (sign-in interactions,
   * device codes, sessions…) and revoked tokens past their own expiry. A server calls it
   * periodically so that what anonymous requests create does not outlive its expiry; `close()`
   * calls it too. Resolves how many entries were deleted.
   */
  purgeExpired(): Promise<number>
  /** Releases the store's resources. Idempotent. */
  close(): Promise<void>
}
