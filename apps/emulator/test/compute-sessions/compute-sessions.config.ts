import express, { type Express } from 'express'
import { pino } from 'pino'
import { errorHandler, errorResponder, notFoundHandler } from '../../src/http/error-handler.js'
import { createRouteTable } from '../../src/http/route-table.js'
import { computeSessionRoutes, type ComputeSessionRoutesDeps } from '../../src/routes/compute-sessions.js'
import { createComputeSessions, MAX_SESSIONS_PER_ACCOUNT } from '../../src/services/compute-sessions.js'
import { createPipelineRegistry, type PipelineRegistry } from '../../src/services/pipelines.js'
import { createTestEmulator, type TestEmulator } from '../helpers.js'

/** The emulator's services, and an app serving only the compute-session routes over them. */
export interface ComputeSessionsFixture {
  readonly emulator: TestEmulator
  /** The compute-session router alone, with the emulator's 404 and error handlers. */
  readonly app: Express
  /** The mock worker's pipelines behind {@link app}'s sessions. */
  readonly pipelines: PipelineRegistry
  close(): Promise<void>
}

/**
 * Builds the compute-session routes standalone over a test emulator's token service, verifier and
 * keyring, so they are tested whether or not `createApp` mounts them.
 */
export async function createComputeSessionsFixture(
  overrides: Partial<ComputeSessionRoutesDeps> = {},
  now: () => number = Date.now,
): Promise<ComputeSessionsFixture> {
  const emulator = await createTestEmulator()
  const idleTimeoutSeconds = emulator.config.sessionIdleTimeoutSeconds
  const pipelines = createPipelineRegistry({ now, idleTimeoutMs: idleTimeoutSeconds * 1000 })
  const sessions = createComputeSessions({ pipelines, maxPerAccount: MAX_SESSIONS_PER_ACCOUNT, idleTimeoutMs: idleTimeoutSeconds * 1000, idleTimeoutSeconds })
  const app = express()
  app.disable('x-powered-by')
  const logger = pino({ level: 'silent' })
  const routes = createRouteTable(
    computeSessionRoutes({
      tokens: emulator.tokens,
      verify: emulator.verify,
      sessions,
      findPop: (id) => emulator.services.pops.find(id),
      issuer: emulator.issuer,
      maxBodyBytes: emulator.config.maxBodyBytes,
      allowBrowserApiKeys: emulator.config.allowBrowserApiKeys,
      now,
      ...overrides,
    }),
    { respond: errorResponder(logger), corsOrigins: emulator.config.corsOrigins },
  )
  app.use(routes.middleware())
  app.use(notFoundHandler)
  app.use(errorHandler(logger))
  return { emulator, app, pipelines, close: () => emulator.close() }
}
