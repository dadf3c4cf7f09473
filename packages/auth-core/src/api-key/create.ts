import { randomBase62 } from '../lib/base62.js'
import { newKeyId } from '../lib/ids.js'
import type { Clock } from '../lib/time.js'
import type { ApiKeyRecord, KeyStore } from '../store/types.js'
import { API_KEY_PREFIX, API_KEY_RANDOM_LENGTH, apiKeyChecksum, apiKeyHint } from './format.js'
import { hashApiKey } from './hash.js'

/**
 * Generates a new API key: `eyp_`, 44 random base62 characters from `node:crypto` (≈ 262 bits) and
 * a 6-character base62 CRC32 checksum, 54 characters in all.
 *
 * The key is a secret: show it once, store only {@link hashApiKey}'s output.
 *
 * @example
 * ```ts
 * const key = generateApiKey() // 'eyp_…'
 * ```
 */
export function generateApiKey(): string {
  const random = randomBase62(API_KEY_RANDOM_LENGTH)
  return API_KEY_PREFIX + random + apiKeyChecksum(random)
}

/** Options of {@link createApiKey}. */
export interface CreateApiKeyOptions {
  /** Where the key's record is written. */
  store: KeyStore
  /** The owning account. */
  accountId: string
  /** A memorable name, 1 to 100 characters, no control characters. */
  name: string
  /** When the key stops working (ms), or `null` for never. */
  expiresAt: number | null
  /** The server secret the key hash is keyed with. */
  pepper: Uint8Array
  /** Clock (ms). Default is `Date.now`. */
  now?: Clock
}

/** A created key: its record and, once only, the key itself. */
export interface CreateApiKeyResult {
  /** The stored record (hash and hint, never the key). */
  readonly record: ApiKeyRecord
  /** The key. Secret: show it once, never log it. */
  readonly key: string
}

/** The longest name of a key (or of any named record). */
export const API_KEY_NAME_MAX_LENGTH = 100

/**
 * Validates a display name (of a key, a Pop): 1 to 100 characters after trimming, no control
 * characters.
 *
 * @returns the trimmed name
 * @throws {TypeError} when the name breaks a rule (the message says which)
 */
export function validateName(name: unknown): string {
  if (typeof name !== 'string') throw new TypeError('name must be a string')
  const trimmed = name.trim()
  if (trimmed.length === 0) throw new TypeError('name must not be empty')
  if (trimmed.length > API_KEY_NAME_MAX_LENGTH) {
    throw new TypeError(`name must be at most ${API_KEY_NAME_MAX_LENGTH} characters`)
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new TypeError('name must not contain control characters')
  return trimmed
}

/**
 * Creates an API key for an account: generates it, stores only its hash and hint, and returns the
 * key once.
 *
 * @example
 * ```ts
 * const { key, record } = await createApiKey({ store, accountId, name: 'Starter Integration',
 *   expiresAt: null, pepper })
 * ```
 */
export async function createApiKey(options: CreateApiKeyOptions): Promise<CreateApiKeyResult> {
  const name = validateName(options.name)
  const createdAt = (options.now ?? Date.now)()
  if (options.expiresAt !== null && !(Number.isFinite(options.expiresAt) && options.expiresAt > createdAt)) {
    throw new TypeError('"expiresAt" must be in the future or null')
  }
  const key = generateApiKey()
  const record: ApiKeyRecord = {
    id: newKeyId(),
    accountId: options.accountId,
    name,
    hash: hashApiKey(key, options.pepper),
    hint: apiKeyHint(key),
    createdAt,
    expiresAt: options.expiresAt,
    lastUsedAt: null,
    deletedAt: null,
  }
  await options.store.apiKeys.create(record)
  return { record, key }
}
