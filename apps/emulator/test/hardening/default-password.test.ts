/**
 * The development account's built-in password must not be reachable from other machines: an
 * emulator that would listen beyond loopback with it refuses to start, unless told otherwise.
 */
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { isLoopbackHost } from '../../src/config/schema.js'
import { verifyPassword } from '../../src/services/passwords.js'
import { createTestEmulator } from '../helpers.js'
import { createMemoryEmulatorStore } from '../../src/store/memory-store.js'

describe('an emulator on a non-loopback address', () => {
  it('refuses to start while the development account has the built-in password, and says what to do', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      await expect(createTestEmulator({ host })).rejects.toThrow(
        /still has the built-in password .*, beyond loopback, .*EYEPOP_EMULATOR_DEFAULT_PASSWORD.*--allow-default-password/,
      )
    }
  })

  it('starts with a password of its own, or with allowDefaultPassword', async () => {
    for (const overrides of [{ defaultPassword: 'a-password-of-my-own' }, { allowDefaultPassword: true }]) {
      const emulator = await createTestEmulator({ host: '0.0.0.0', ...overrides })
      try {
        // Started and serving, with the password it was given (or the built-in one, allowed).
        expect(emulator.config.host).toBe('0.0.0.0')
        const account = emulator.services.defaultAccount
        const expected = overrides.defaultPassword ?? 'eyepop-dev'
        expect(await verifyPassword(expected, account.passwordHash!)).toBe(true)
        await emulator.ready
        expect((await request(emulator.handler).get('/.well-known/openid-configuration')).status).toBe(200)
      } finally {
        await emulator.close()
      }
    }
  })

  it('still refuses on a data dir first opened with the built-in password, whatever defaultPassword says now', async () => {
    const store = createMemoryEmulatorStore()
    await (await createTestEmulator({}, { store })).close()
    await expect(createTestEmulator({ host: '0.0.0.0', defaultPassword: 'a-password-of-my-own' }, { store })).rejects.toThrow(/built-in password/)
  })
})

describe('an emulator on loopback', () => {
  it('starts with the built-in password', async () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) {
      expect(isLoopbackHost(host), host).toBe(true)
      await (await createTestEmulator({ host })).close()
    }
    expect(isLoopbackHost('[::1]')).toBe(true)
    expect(isLoopbackHost('0.0.0.0')).toBe(false)
  })
})
