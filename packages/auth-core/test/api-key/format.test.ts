import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  API_KEY_CHECKSUM_LENGTH,
  API_KEY_HINT_LENGTH,
  API_KEY_LENGTH,
  API_KEY_PREFIX,
  API_KEY_RANDOM_LENGTH,
  apiKeyChecksum,
  apiKeyHint,
  isApiKey,
  parseApiKey,
} from '../../src/api-key/format.js'
import { generateApiKey } from '../../src/api-key/create.js'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
// Characters a key must never contain, including the ones secret scanners allow (`_`, `-`).
const FOREIGN_CHARS = ['_', '-', ' ', '.', '+', '/', '=', '\n', '\u0000', 'é', '٣']

/** Decodes base62 independently of src, so the checksum is checked against the spec. */
function decodeBase62(value: string): number {
  let out = 0
  for (const char of value) out = out * 62 + BASE62.indexOf(char)
  return out
}

function encodeBase62(value: number, width: number): string {
  let out = ''
  for (let rest = value; rest > 0; rest = Math.floor(rest / 62)) out = BASE62[rest % 62] + out
  return out.padStart(width, '0')
}

/** Calls `fn` and returns what it threw; fails the test when it did not throw. */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn()
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected the call to throw')
}

/** Every string at one edit from `key`: substitutions, deletions, insertions, truncations. */
function singleEdits(key: string): string[] {
  const variants: string[] = []
  for (let i = 0; i < key.length; i++) {
    for (const char of [
      ...BASE62,
      ...FOREIGN_CHARS,
      key[i]!.toUpperCase(),
      key[i]!.toLowerCase(),
    ]) {
      if (char !== key[i]) variants.push(key.slice(0, i) + char + key.slice(i + 1))
    }
    variants.push(key.slice(0, i) + key.slice(i + 1))
  }
  for (let i = 0; i <= key.length; i++) {
    for (const char of ['0', 'a', 'Z', '_']) variants.push(key.slice(0, i) + char + key.slice(i))
  }
  for (let length = 0; length < key.length; length++) variants.push(key.slice(0, length))
  return variants
}

describe('api key format', () => {
  describe('constants', () => {
    it('describe a 54-character key: eyp_, 44 random and 6 checksum characters', () => {
      expect(API_KEY_PREFIX).toBe('eyp_')
      expect(API_KEY_RANDOM_LENGTH).toBe(44)
      expect(API_KEY_CHECKSUM_LENGTH).toBe(6)
      expect(API_KEY_LENGTH).toBe(54)
    })
  })

  describe('apiKeyChecksum()', () => {
    it('is the CRC32 of the prefix and random part, as 6 zero-padded base62 characters', () => {
      for (let i = 0; i < 200; i++) {
        const random = generateApiKey().slice(4, 48)
        const checksum = apiKeyChecksum(random)
        expect(checksum).toMatch(/^[0-9A-Za-z]{6}$/)
        expect(decodeBase62(checksum)).toBe(crc32(`eyp_${random}`))
      }
    })

    it('pads small checksums with leading zeros', () => {
      // Search a random part whose CRC32 is below 62^5, so the padding is exercised.
      let random = ''
      for (let i = 0; ; i++) {
        random = i.toString().padStart(44, 'A')
        if (crc32(`eyp_${random}`) < 62 ** 5) break
      }
      expect(apiKeyChecksum(random)).toMatch(/^0[0-9A-Za-z]{5}$/)
    })
  })

  describe('parseApiKey()', () => {
    describe('with a well-formed key', () => {
      it('returns the key with its random part and checksum', () => {
        const key = generateApiKey()
        expect(parseApiKey(key)).toEqual({
          key,
          random: key.slice(4, 48),
          checksum: key.slice(48),
        })
      })

      it('accepts a key built by hand from any base62 random part', () => {
        const random = BASE62.slice(0, 44)
        const key = `eyp_${random}${apiKeyChecksum(random)}`
        expect(parseApiKey(key).random).toBe(random)
      })
    })

    describe('with a value that is not a non-empty string', () => {
      it.each([
        ['undefined', undefined],
        ['null', null],
        ['a number', 42],
        ['an object', {}],
        ['a String object', new String('eyp_')],
        ['an empty string', ''],
      ])('rejects %s with ERR_API_KEY_MALFORMED', (_label, value) => {
        expect(thrown(() => parseApiKey(value))).toMatchObject({ code: 'ERR_API_KEY_MALFORMED' })
      })
    })

    describe('with a wrong prefix', () => {
      it.each(['EYP_', 'eyp-', 'eyp', 'ey_', 'sk_', 'xeyp_'])(
        'rejects a key starting with %j',
        (prefix) => {
          const key = generateApiKey()
          expect(thrown(() => parseApiKey(prefix + key.slice(4)))).toMatchObject({
            code: 'ERR_API_KEY_MALFORMED',
          })
        },
      )
    })

    describe('with surrounding whitespace', () => {
      it.each([' %s', '%s ', '%s\n', '\t%s'])('rejects %j (keys are never trimmed)', (shape) => {
        const key = generateApiKey()
        expect(thrown(() => parseApiKey(shape.replace('%s', key)))).toMatchObject({
          code: 'ERR_API_KEY_MALFORMED',
        })
      })
    })

    describe('offline typo detection', () => {
      const keys = Array.from({ length: 8 }, () => generateApiKey())

      it('rejects every single-character substitution, deletion and insertion', () => {
        for (const key of keys) {
          for (const variant of singleEdits(key)) {
            expect(isApiKey(variant), `${JSON.stringify(variant)} must be rejected`).toBe(false)
          }
        }
      })

      it('rejects every truncation', () => {
        for (const key of keys) {
          for (let length = 0; length < key.length; length++) {
            expect(thrown(() => parseApiKey(key.slice(0, length)))).toMatchObject({
              code: 'ERR_API_KEY_MALFORMED',
            })
          }
        }
      })

      it('rejects every swap of two adjacent different characters', () => {
        // CRC32 catches every error burst of up to 32 bits, so swaps inside the random part are
        // always caught; swaps inside the checksum change its value. A swap across the boundary
        // between the two changes both, so it is left out.
        for (const key of keys) {
          for (let i = 0; i < key.length - 1; i++) {
            if (i === 47 || key[i] === key[i + 1]) continue
            const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2)
            expect(isApiKey(swapped), `swap at ${i} must be rejected`).toBe(false)
          }
        }
      })

      it('rejects a key whose checksum was computed without the prefix', () => {
        // The prefix is part of the checksummed text, so a random part from another key format
        // (or a key pasted without its prefix and re-prefixed) cannot pass.
        const random = generateApiKey().slice(4, 48)
        const forged = `eyp_${random}${encodeBase62(crc32(random), 6)}`
        expect(forged).toHaveLength(54)
        expect(isApiKey(forged)).toBe(false)
      })
    })

    describe('error messages', () => {
      it('never contain the key or its secret random part', () => {
        for (let n = 0; n < 2; n++) {
          const key = generateApiKey()
          const random = key.slice(4, 48)
          const variants = [...singleEdits(key), ` ${key}`, `${key}\n`, key + key]
          for (const variant of variants) {
            const err = thrown(() => parseApiKey(variant))
            expect(err.code).toBe('ERR_API_KEY_MALFORMED')
            expect(err.message).not.toContain(random.slice(0, 12))
            expect(err.message).not.toContain(random.slice(-12))
            if (variant.length > 8) expect(err.message).not.toContain(variant)
          }
        }
      })

      it('state the rule that was broken', () => {
        const key = generateApiKey()
        expect(thrown(() => parseApiKey('nope')).message).toMatch(/start with "eyp_"/)
        expect(thrown(() => parseApiKey(key.slice(0, 53))).message).toMatch(/54 characters/)
        expect(thrown(() => parseApiKey(`${key.slice(0, 10)}-${key.slice(11)}`)).message).toMatch(
          /base62/,
        )
        const last = key.at(-1) === '0' ? '1' : '0'
        expect(thrown(() => parseApiKey(key.slice(0, 53) + last)).message).toMatch(/checksum/)
      })
    })
  })

  describe('isApiKey()', () => {
    it('is true for a generated key', () => {
      expect(isApiKey(generateApiKey())).toBe(true)
    })

    it.each([undefined, null, 0, '', 'eyp_', 'Bearer eyp_x', {}])('is false for %j', (value) => {
      expect(isApiKey(value)).toBe(false)
    })
  })

  describe('apiKeyHint()', () => {
    it('is the last 4 characters, all within the checksum, so it reveals no random character', () => {
      const key = generateApiKey()
      const hint = apiKeyHint(key)
      expect(API_KEY_HINT_LENGTH).toBe(4)
      expect(hint).toBe(key.slice(50))
      expect(API_KEY_HINT_LENGTH).toBeLessThanOrEqual(API_KEY_CHECKSUM_LENGTH)
      expect(parseApiKey(key).checksum.endsWith(hint)).toBe(true)
    })
  })
})
