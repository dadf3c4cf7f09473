import { randomBase62 } from './base62.js'

/** A new API key id: `key_` and 16 base62 characters. Not secret. */
export function newKeyId(): string {
  return `key_${randomBase62(16)}`
}

/** A new token id (`jti`). */
export function newTokenId(): string {
  return randomBase62(22)
}
