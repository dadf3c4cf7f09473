import { createApiKey, errors, validateName, type ApiKeyRecord, type Clock } from '@eyepop/auth-core'
import { InvalidInput, LimitExceeded } from './errors.js'
import type { AuditEventInput, EmulatorStore } from '../store/types.js'

/**
 * The expiration choices of a new key, as the dashboard's drop-down offers them. A short default
 * (90 days) keeps forgotten keys from living forever; `never` is there for long-running servers
 * that rotate by hand.
 */
export const KEY_EXPIRY_CHOICES = ['7d', '30d', '90d', '365d', 'never'] as const

/** One of {@link KEY_EXPIRY_CHOICES}. */
export type KeyExpiry = (typeof KEY_EXPIRY_CHOICES)[number]

/** The expiry used when none is chosen. */
export const DEFAULT_KEY_EXPIRY: KeyExpiry = '90d'

/** Whether `value` is a valid expiry choice. */
export function isKeyExpiry(value: unknown): value is KeyExpiry {
  return typeof value === 'string' && (KEY_EXPIRY_CHOICES as readonly string[]).includes(value)
}

/** The expiry time (ms) of a key created at `now` with `choice`, or `null` for never. */
export function expiryTime(choice: KeyExpiry, now: number): number | null {
  if (choice === 'never') return null
  return now + Number.parseInt(choice, 10) * 86_400_000
}

/** A key's status. */
export type KeyStatus = 'active' | 'expired' | 'deleted'

/** A key as shown to its owner: never the secret, never the hash. */
export interface KeyView {
  id: string
  name: string
  /** The last 4 characters of the key. */
  hint: string
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  status: KeyStatus
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** The view of a key record at time `now`. */
export function toKeyView(record: ApiKeyRecord, now: number): KeyView {
  let status: KeyStatus = 'active'
  if (record.deletedAt !== null) status = 'deleted'
  else if (record.expiresAt !== null && record.expiresAt <= now) status = 'expired'
  return {
    id: record.id,
    name: record.name,
    hint: record.hint,
    createdAt: iso(record.createdAt)!,
    expiresAt: iso(record.expiresAt),
    lastUsedAt: iso(record.lastUsedAt),
    status,
  }
}

/** A newly created key: its view and, this once, the key. */
export interface CreatedKey extends KeyView {
  /** The API key. Secret: shown once, never stored. */
  key: string
}

/** Key management for one store, shared by the CLI and the HTTP API. */
export interface KeyService {
  /**
   * Creates a key and records `key.created` in the audit log.
   *
   * @throws {InvalidInput} for a bad name or expiry
   * @throws {LimitExceeded} when the account already has `maxKeysPerAccount`
   *   live keys
   */
  create(accountId: string, input: { name: unknown; expires?: unknown }): Promise<CreatedKey>
  list(accountId: string): Promise<KeyView[]>
  get(accountId: string, id: string): Promise<KeyView>
  /** Deletes a key (its tokens stop working within a second) and records `key.deleted`. */
  delete(accountId: string, id: string): Promise<void>
}

/** What {@link createKeyService} needs. */
export interface KeyServiceDeps {
  store: EmulatorStore
  /** The server secret API key hashes are keyed with. */
  pepper: Uint8Array
  now: Clock
  /** The most live (not deleted) keys an account may have. */
  maxKeysPerAccount: number
  /**
   * Called when an audit event cannot be written. The key change itself stands: a key that was
   * created must still be shown once.
   */
  onAuditError: (err: unknown) => void
}

/** A valid display name, or `InvalidInput` saying which rule it breaks. */
export function checkName(name: unknown): string {
  try {
    return validateName(name)
  } catch (err) {
    throw new InvalidInput((err as Error).message)
  }
}

/** Creates the key service. */
export function createKeyService(deps: KeyServiceDeps): KeyService {
  const { store, pepper, now, maxKeysPerAccount } = deps

  // Key changes are rare and already write to the store, so their events are written at once
  // (the CLI exits right after) rather than batched like the token route's.
  async function audit(event: AuditEventInput): Promise<void> {
    try {
      await store.audit.append([event])
    } catch (err) {
      deps.onAuditError(err)
    }
  }

  async function owned(accountId: string, id: string): Promise<ApiKeyRecord> {
    const record = typeof id === 'string' ? await store.apiKeys.get(id) : undefined
    // Another account's key is reported exactly like a missing one.
    if (!record || record.accountId !== accountId || record.deletedAt !== null) {
      throw new errors.NotFound('api key not found')
    }
    return record
  }

  return {
    async create(accountId, input) {
      const expires = input.expires ?? DEFAULT_KEY_EXPIRY
      if (!isKeyExpiry(expires)) {
        throw new InvalidInput(`expires must be one of ${KEY_EXPIRY_CHOICES.join(', ')}`)
      }
      const name = checkName(input.name)
      const at = now()
      let admitted = true
      const { record, key } = await createApiKey({
        // The key is written only while the account is under its limit, counted and written as
        // one step, so creations racing on several instances cannot pass it.
        store: {
          ...store,
          apiKeys: {
            ...store.apiKeys,
            async create(r) {
              admitted = await store.apiKeys.createWithinLimit(r, maxKeysPerAccount)
            },
          },
        },
        accountId,
        name,
        expiresAt: expiryTime(expires, at),
        pepper,
        now: () => at,
      })
      if (!admitted) {
        throw new LimitExceeded(`this account has reached its limit of ${maxKeysPerAccount} api keys; delete one first`)
      }
      const view = toKeyView(record, at)
      await audit({
        accountId,
        keyId: record.id,
        type: 'key.created',
        at,
        detail: { name: record.name, expires: view.expiresAt ?? 'never' },
      })
      return { ...view, key }
    },
    async list(accountId) {
      const at = now()
      return (await store.apiKeys.list(accountId)).map((r) => toKeyView(r, at))
    },
    async get(accountId, id) {
      return toKeyView(await owned(accountId, id), now())
    },
    async delete(accountId, id) {
      const record = await owned(accountId, id)
      const at = now()
      if (!(await store.apiKeys.markDeleted(id, at))) throw new errors.NotFound('api key not found')
      await audit({ accountId, keyId: id, type: 'key.deleted', at, detail: { name: record.name } })
    },
  }
}
