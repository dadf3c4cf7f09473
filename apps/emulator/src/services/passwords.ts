/**
 * Password hashing for sign-in: scrypt from `node:crypto`, a random salt per password, and a
 * self-describing encoding so the cost can be raised later without breaking stored hashes.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { InvalidInput } from './errors.js'

// The shortest and longest password accepted (in characters; the longest keeps hashing cheap):
// declared with the options, whose default password they check too.
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../config/options.js'

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH }

/**
 * The scrypt cost of new hashes: 16 MiB of memory per hash. Each hash names its own cost, so
 * raising it later leaves stored hashes working.
 */
const COST = { N: 16_384, r: 8, p: 1 } as const
const SALT_BYTES = 16
const KEY_BYTES = 64
/** The most memory (in bytes) a stored hash may make scrypt use, so a tampered cost cannot exhaust it. */
const MAX_MEMORY_BYTES = 64 * 1024 * 1024

function derive(password: string, salt: Buffer, keyBytes: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** The length of `value` in characters (code points), as a person counts them. */
function characters(value: string): number {
  let count = 0
  for (const _ of value) count++
  return count
}

/**
 * A password that meets the rules (a string of 8 to 200 characters), or `InvalidInput` saying
 * which rule it breaks. The password is never repeated in the message.
 */
export function validatePassword(password: unknown): string {
  if (typeof password !== 'string') throw new InvalidInput('password must be a string')
  const length = characters(password)
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new InvalidInput(`password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`)
  }
  return password
}

/**
 * Hashes a password for storage: scrypt (N=16384, r=8, p=1) with a random 16-byte salt and a
 * 64-byte key, encoded as `scrypt$N$r$p$salt$hash` (salt and hash in base64url).
 *
 * @param password the password (secret; validated with {@link validatePassword})
 * @throws {InvalidInput} when the password breaks a rule
 * @example
 * ```ts
 * const passwordHash = await hashPassword('correct horse battery staple')
 * ```
 */
export async function hashPassword(password: string): Promise<string> {
  validatePassword(password)
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, KEY_BYTES, COST)
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** The parts of an encoded hash, or `undefined` when it is not one this module could have written. */
function parse(encoded: string) {
  const parts = encoded.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const numbers = parts.slice(1, 4)
  if (!numbers.every((n) => /^[1-9]\d{0,9}$/.test(n))) return undefined
  const [N, r, p] = numbers.map(Number) as [number, number, number]
  const salt = Buffer.from(parts[4]!, 'base64url')
  const key = Buffer.from(parts[5]!, 'base64url')
  if ((N & (N - 1)) !== 0 || N < 2 || r > 32 || p > 16 || 128 * N * r >= MAX_MEMORY_BYTES) return undefined
  // A shorter key would be a prefix of the real one: only full-length keys are compared.
  if (salt.length < SALT_BYTES || key.length !== KEY_BYTES) return undefined
  return { N, r, p, salt, key }
}

/**
 * Whether `password` matches a hash written by {@link hashPassword}. The comparison is constant
 * time; a malformed or tampered hash never matches.
 *
 * @param password the presented password (secret)
 * @param encoded the stored `scrypt$N$r$p$salt$hash`
 * @example
 * ```ts
 * const ok = await verifyPassword(input, account.passwordHash)
 * ```
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  if (typeof password !== 'string' || typeof encoded !== 'string') return false
  const parsed = parse(encoded)
  if (!parsed) return false
  const { N, r, p, salt, key } = parsed
  const derived = await derive(password, salt, key.length, { N, r, p, maxmem: MAX_MEMORY_BYTES })
  return timingSafeEqual(derived, key)
}
