import { crc32 } from 'node:zlib'
import { ApiKeyMalformed } from '../errors.js'
import { encodeBase62, isBase62 } from '../lib/base62.js'

/** Every EyePop API key starts with this prefix. */
export const API_KEY_PREFIX = 'eyp_'
/** Base62 characters of randomness in a key: 44 × log2(62) ≈ 262 bits. */
export const API_KEY_RANDOM_LENGTH = 44
/** Base62 characters of the CRC32 checksum at the end of a key. */
export const API_KEY_CHECKSUM_LENGTH = 6
/** The total length of a key: 54 characters. */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + API_KEY_RANDOM_LENGTH + API_KEY_CHECKSUM_LENGTH
/** The number of trailing characters kept as a non-secret hint. */
export const API_KEY_HINT_LENGTH = 4

/** An API key split into its parts. */
export interface ParsedApiKey {
  /** The whole key. Secret. */
  readonly key: string
  /** The random part. Secret. */
  readonly random: string
  /** The checksum part. */
  readonly checksum: string
}

/** The 6-character base62 CRC32 of `eyp_` + the random part. */
export function apiKeyChecksum(random: string): string {
  return encodeBase62(crc32(API_KEY_PREFIX + random), API_KEY_CHECKSUM_LENGTH)
}

/**
 * Parses and validates an API key offline: prefix, length, alphabet and checksum.
 *
 * A mistyped or truncated key fails here, before any lookup. The message never repeats the key.
 *
 * @param input the presented value
 * @throws {ApiKeyMalformed} when `input` is not a well-formed API key
 * @example
 * ```ts
 * const { key } = parseApiKey(process.env.EYEPOP_API_KEY)
 * ```
 */
export function parseApiKey(input: unknown): ParsedApiKey {
  if (typeof input !== 'string' || input.length === 0) {
    throw new ApiKeyMalformed('api key must be a non-empty string')
  }
  if (!input.startsWith(API_KEY_PREFIX)) {
    throw new ApiKeyMalformed(`api key must start with "${API_KEY_PREFIX}"`)
  }
  if (input.length !== API_KEY_LENGTH) {
    throw new ApiKeyMalformed(`api key must be ${API_KEY_LENGTH} characters long`)
  }
  const body = input.slice(API_KEY_PREFIX.length)
  if (!isBase62(body)) {
    throw new ApiKeyMalformed('api key must only contain base62 characters after its prefix')
  }
  const random = body.slice(0, API_KEY_RANDOM_LENGTH)
  const checksum = body.slice(API_KEY_RANDOM_LENGTH)
  if (apiKeyChecksum(random) !== checksum) {
    throw new ApiKeyMalformed('api key checksum does not match (mistyped or truncated key)')
  }
  return { key: input, random, checksum }
}

/** Whether `input` is a well-formed API key (prefix, length, alphabet, checksum). */
export function isApiKey(input: unknown): input is string {
  try {
    parseApiKey(input)
    return true
  } catch {
    return false
  }
}

/** The non-secret hint of a key: its last 4 characters (part of the checksum). */
export function apiKeyHint(key: string): string {
  return key.slice(-API_KEY_HINT_LENGTH)
}
