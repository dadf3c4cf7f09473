/**
 * The emulator's store: auth-core's {@link KeyStore} (API keys, the revocation feed, signing keys,
 * settings) and what only the emulator keeps beside it: accounts and their passwords, Pops, the
 * audit log of key events and oidc-provider's artifacts (sign-ins, sessions, grants, device codes).
 *
 * Three implementations: `createMemoryEmulatorStore` (tests, `--memory`),
 * `createSqliteEmulatorStore` (the data dir's `emulator.db`, one file with auth-core's tables) and
 * `createPostgresEmulatorStore` (`--database-url`: one PostgreSQL database with auth-core's tables,
 * shared by several emulators).
 *
 * @module
 */
import type { KeyStore } from '@eyepop/auth-core'

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

/** Pops. */
export interface PopRepository {
  /** Inserts a Pop. Rejects with `Conflict` on a duplicate id, `NotFound` for an unknown account. */
  create(record: PopRecord): Promise<void>
  /** The Pop with this id, if any. */
  get(id: string): Promise<PopRecord | undefined>
  /** The Pops of an account, oldest first. */
  list(accountId: string): Promise<PopRecord[]>
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

/**
 * The emulator's whole store. Its `apiKeys` (auth-core's) also reject, on `create` and
 * `createWithinLimit`, a key of an unknown account with `NotFound`, since the emulator's keys
 * always belong to one of its accounts.
 */
export interface EmulatorStore extends KeyStore {
  readonly accounts: AccountRepository
  readonly pops: PopRepository
  readonly oidc: OidcArtifactRepository
  readonly audit: AuditRepository
  /**
   * Deletes what has expired: oidc-provider artifacts past their expiry (sign-in interactions,
   * device codes, sessions…) and revoked tokens past their own expiry. A server calls it
   * periodically so that what anonymous requests create does not outlive its expiry; `close()`
   * calls it too. Resolves how many entries were deleted.
   */
  purgeExpired(): Promise<number>
}
