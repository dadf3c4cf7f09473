import { describe, expect, it } from 'vitest'
import { hashPassword, validatePassword, verifyPassword } from '../../src/services/passwords.js'

/** Sign-in passwords: scrypt hashes that only the right password opens. */

describe('hashPassword()', () => {
  it('encodes scrypt$N$r$p$salt$hash with N=16384, r=8, p=1, a 16-byte salt and a 64-byte key', async () => {
    const encoded = await hashPassword('correct horse')
    const [scheme, N, r, p, salt, key, ...rest] = encoded.split('$')
    expect([scheme, N, r, p, rest]).toEqual(['scrypt', '16384', '8', '1', []])
    expect(Buffer.from(salt!, 'base64url')).toHaveLength(16)
    expect(Buffer.from(key!, 'base64url')).toHaveLength(64)
    expect(salt).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(encoded).not.toContain('correct horse')
  })

  it('uses a new salt every time, so one password gives different hashes', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')])
    expect(a).not.toBe(b)
    expect(a.split('$')[4]).not.toBe(b.split('$')[4])
    expect(await verifyPassword('same password', a)).toBe(true)
    expect(await verifyPassword('same password', b)).toBe(true)
  })

  it('refuses a password outside 8 to 200 characters with invalid_request', async () => {
    for (const password of ['', 'seven77', 'x'.repeat(201)]) {
      await expect(hashPassword(password)).rejects.toMatchObject({ kind: 'invalid_input' })
    }
    await expect(hashPassword(42 as unknown as string)).rejects.toMatchObject({ kind: 'invalid_input' })
  })
})

describe('validatePassword()', () => {
  it('counts characters, not UTF-16 units', () => {
    expect(validatePassword('🔑'.repeat(8))).toBe('🔑'.repeat(8))
    expect(validatePassword('é'.repeat(200))).toHaveLength(200)
    expect(() => validatePassword('🔑'.repeat(201))).toThrow(expect.objectContaining({ kind: 'invalid_input' }))
    expect(() => validatePassword('🔑'.repeat(7))).toThrow(expect.objectContaining({ kind: 'invalid_input' }))
  })

  it('never repeats the password in its message', () => {
    try {
      validatePassword('short')
      expect.unreachable()
    } catch (err) {
      expect((err as Error).message).toBe('password must be 8 to 200 characters long')
    }
  })
})

describe('verifyPassword()', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const encoded = await hashPassword('eyepop-dev')
    expect(await verifyPassword('eyepop-dev', encoded)).toBe(true)
    expect(await verifyPassword('eyepop-dev ', encoded)).toBe(false)
    expect(await verifyPassword('Eyepop-dev', encoded)).toBe(false)
    expect(await verifyPassword('', encoded)).toBe(false)
  })

  it('refuses every hash that was tampered with', async () => {
    const encoded = await hashPassword('eyepop-dev')
    const parts = encoded.split('$')
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    const tampered = [
      [...parts.slice(0, 5), flip(parts[5]!)],
      [...parts.slice(0, 4), flip(parts[4]!), parts[5]!],
      [parts[0]!, '8192', ...parts.slice(2)],
      [parts[0]!, parts[1]!, '4', ...parts.slice(3)],
      [parts[0]!, parts[1]!, parts[2]!, '2', ...parts.slice(4)],
      [...parts.slice(0, 5), parts[5]!.slice(0, -4)],
    ].map((p) => p.join('$'))
    for (const hash of tampered) expect(await verifyPassword('eyepop-dev', hash)).toBe(false)
  })

  it('refuses malformed hashes without throwing, and hashes that would cost too much memory', async () => {
    const encoded = await hashPassword('eyepop-dev')
    const [, , , , salt, key] = encoded.split('$')
    for (const hash of [
      '',
      'plain-text',
      encoded.replace('scrypt', 'bcrypt'),
      `${encoded}$extra`,
      `scrypt$16383$8$1$${salt}$${key}`,
      `scrypt$0$8$1$${salt}$${key}`,
      `scrypt$1048576$8$1$${salt}$${key}`,
      `scrypt$16384$8$1$$${key}`,
      `scrypt$16384$8$1$${salt}$`,
      `scrypt$16384$x$1$${salt}$${key}`,
    ]) {
      expect(await verifyPassword('eyepop-dev', hash)).toBe(false)
    }
  })
})
