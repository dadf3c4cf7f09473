import { pino } from 'pino'
import { createApp, type CreateAppOptions } from '../src/app.js'
import type { EmulatorConfig } from '../src/config/defaults.js'
import { startServer, type RunningServer } from '../src/main.js'

/**
 * The tests' ways to run an emulator, one per need, all here:
 * - {@link createTestEmulator}: the app in process, no listener (supertest, `emulator.handler`);
 * - {@link startTestServer}: the same listening on 127.0.0.1 and a free port (fetch, SDKs, WebSockets);
 * - `startEmulatorProcess` (`e2e/process.ts`): the CLI in a process of its own (kill -9, restarts).
 */

/** The base config of HTTP tests: in memory, a fixed issuer, quiet. */
export const testConfig: Partial<EmulatorConfig> = {
  dataDir: null,
  issuer: 'http://127.0.0.1:8700',
  logLevel: 'silent',
  revocationPollMs: 20,
}

/** A fresh emulator app for one test file, with helpers to seed keys and Pops. */
export async function createTestEmulator(
  overrides: Partial<EmulatorConfig> = {},
  options: CreateAppOptions = {},
) {
  const emulator = await createApp({ ...testConfig, ...overrides }, { logger: pino({ level: 'silent' }), ...options })
  const { services } = emulator
  const accountId = services.defaultAccount.id
  return {
    ...emulator,
    accountId,
    /** Creates a key of the default account (or of `account`). */
    async createKey(name = 'test key', account = accountId, expires: string = 'never') {
      return services.keys.create(account, { name, expires })
    },
    async createPop(name = 'test pop', account = accountId) {
      return services.pops.create(account, { name })
    },
    /** Creates a second account with its own key and Pop. */
    async createOtherAccount() {
      const id = crypto.randomUUID()
      await services.store.accounts.create({
        id,
        email: `${id}@example.test`,
        name: 'Other',
        createdAt: Date.now(),
        passwordHash: null,
      })
      const key = await services.keys.create(id, { name: 'other key', expires: 'never' })
      const pop = await services.pops.create(id, { name: 'other pop' })
      return { id, key, pop }
    },
  }
}

export type TestEmulator = Awaited<ReturnType<typeof createTestEmulator>>

/**
 * An emulator listening on 127.0.0.1 and a free port, in memory and quiet unless `overrides` say
 * otherwise. Close it (`close()`) when the test is done.
 */
export function startTestServer(overrides: Partial<EmulatorConfig> = {}, options: CreateAppOptions = {}): Promise<RunningServer> {
  return startServer(
    { port: 0, host: '127.0.0.1', dataDir: null, logLevel: 'silent', ...overrides },
    { logger: pino({ level: 'silent' }), ...options },
  )
}
