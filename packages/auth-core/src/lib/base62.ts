import { randomBytes } from 'node:crypto'

/** The base62 alphabet, digits first, so that encoded numbers sort like the numbers. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

const BASE62_RE = /^[0-9A-Za-z]*$/

/** Whether `value` only uses base62 characters. */
export function isBase62(value: string): boolean {
  return BASE62_RE.test(value)
}

/** Random bytes come from `node:crypto` in batches of 4 KiB (as `randomUUID` does), not per id. */
const POOL_BYTES = 4096
let pool = Buffer.alloc(0)
let poolOffset = 0

function nextRandomByte(): number {
  if (poolOffset >= pool.length) {
    pool = randomBytes(POOL_BYTES)
    poolOffset = 0
  }
  const byte = pool[poolOffset]!
  // A byte is used once and not left behind (it may become part of an API key).
  pool[poolOffset++] = 0
  return byte
}

/**
 * `length` characters drawn uniformly from the base62 alphabet with `node:crypto`.
 *
 * Bytes of 248 and above are rejected so that `byte % 62` has no modulo bias.
 */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    const byte = nextRandomByte()
    if (byte < 248) out += BASE62_ALPHABET[byte % 62]
  }
  return out
}

/** `value` (a non-negative integer below 2^53) in base62, left-padded with `0` to `width`. */
export function encodeBase62(value: number, width: number): string {
  let out = ''
  let rest = value
  do {
    out = BASE62_ALPHABET[rest % 62] + out
    rest = Math.floor(rest / 62)
  } while (rest > 0)
  return out.padStart(width, '0')
}
