import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The at-rest form of an API key: HMAC-SHA-256 keyed with a server secret (the pepper), base64url.
 *
 * Keys are high-entropy, so a fast keyed hash is as safe as a slow password hash and keeps the
 * token route fast; the pepper means a leaked database alone cannot confirm a guessed key.
 * Lookups are by this value (an indexed column), so they are O(1).
 *
 * @param key the API key (already parsed)
 * @param pepper the server secret, at least 32 bytes
 */
export function hashApiKey(key: string, pepper: Uint8Array): string {
  return createHmac('sha256', pepper).update(key).digest('base64url')
}

/** Constant-time comparison of two hashes of equal encoding. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
