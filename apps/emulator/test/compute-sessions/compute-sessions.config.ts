import express, { type Express } from 'express'
import { pino } from 'pino'
import { errorHandler, notFoundHandler } from '../../src/http/error-handler.js'
import { computeSessionRoutes, type ComputeSessionRoutesDeps } from '../../src/routes/compute-sessions.js'
import { createTestEmulator, type TestEmulator } from '../helpers.js'

/** The emulator's services, and an app serving only the compute-session routes over them. */
export interface ComputeSessionsFixture {
  readonly emulator: TestEmulator
  /** The compute-session router alone, with the emulator's 404 and error handlers. */
  readonly app: Express
  close(): Promise<void>
}

/**
 * Builds the compute-session routes standalone over a test emulator's token service, verifier and
 * keyring, so they are tested whether or not `createApp` mounts them.
 */
export async function createComputeSessionsFixture(
  overrides: Partial<ComputeSessionRoutesDeps> = {},
): Promise<ComputeSessionsFixture> {
  const emulator = await createTestEmulator()
  const app = express()
  app.disable('x-powered-by')
  app.use(
    computeSessionRoutes({
      tokens: emulator.tokens,
      verify: emulator.verify,
      keyring: emulator.keyring,
      issuer: emulator.issuer,
      audience: emulator.config.audience,
      tokenTtlSeconds: emulator.config.tokenTtlSeconds,
      maxBodyBytes: emulator.config.maxBodyBytes,
      allowBrowserApiKeys: emulator.config.allowBrowserApiKeys,
      corsOrigins: emulator.config.corsOrigins,
      now: Date.now,
      ...overrides,
    }),
  )
  app.use(notFoundHandler)
  app.use(errorHandler(pino({ level: 'silent' })))
  return { emulator, app, close: () => emulator.close() }
}
