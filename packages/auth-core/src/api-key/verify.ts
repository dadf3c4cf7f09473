import { ApiKeyExpired, ApiKeyInvalid, ApiKeyRevoked } from '../errors.js'
import type { Clock } from '../lib/time.js'
import type { ApiKeyRecord, KeyStore } from '../store/types.js'
import { parseApiKey } from './format.js'
import { hashApiKey, hashesEqual } from './hash.js'

/** Options of {@link verifyApiKey}. */
export interface VerifyApiKeyOptions {
  /** Where key records are. */
  store: KeyStore
  /** The server secret the key hashes are keyed with. */
  pepper: Uint8Array
  /** Clock (ms). Default is `Date.now`. */
  now?: Clock
}

/**
 * Authenticates a presented API key. It checks, in order:
 * - the format and checksum, offline (a typo never reaches the store);
 * - a record with the key's hash exists (one indexed lookup), compared in constant time;
 * - the key is not deleted, then not expired.
 *
 * @param key the presented key (secret; never echoed in errors)
 * @returns the key's record
 * @throws {ApiKeyMalformed | ApiKeyInvalid | ApiKeyRevoked | ApiKeyExpired}
 */
export async function verifyApiKey(key: unknown, options: VerifyApiKeyOptions): Promise<ApiKeyRecord> {
  const parsed = parseApiKey(key)
  const hash = hashApiKey(parsed.key, options.pepper)
  const record = await options.store.apiKeys.findByHash(hash)
  if (!record || !hashesEqual(record.hash, hash)) throw new ApiKeyInvalid('api key is not recognized')
  if (record.deletedAt !== null) throw new ApiKeyRevoked('api key has been deleted')
  if (record.expiresAt !== null && record.expiresAt <= (options.now ?? Date.now)()) {
    throw new ApiKeyExpired('api key has expired')
  }
  return record
}
