/**
 * `@eyepop/emulator/testing`: an emulator for an app's own tests, in process, with a clock the
 * test moves, faults it injects and a reset between tests.
 *
 * @example
 * ```ts
 * import { startEmulator } from '@eyepop/emulator/testing'
 *
 * const emu = await startEmulator({ clock: 'virtual' })
 * const { id, key } = await emu.createApiKey({ name: 'ci' })
 * emu.clock.advance(3601)          // the tokens issued so far have expired
 * emu.faults.next('POST /v1/auth/authenticate', { status: 503 })
 * await emu.reset()
 * await emu.close()
 * ```
 *
 * @module
 */
import type { EmulatorConfig } from '../config/defaults.js'
import { startServer, type RunningServer } from '../main.js'
import { createFaultPlan, type FaultPlan } from './faults.js'
import { createTestOperations, type TestOperations } from './operations.js'
import { createVirtualClock, type VirtualClock } from './virtual-clock.js'

export type { Fault, FaultPlan, PendingFault } from './faults.js'
export type { VirtualClock } from './virtual-clock.js'
export type {
  CreateAccountInput,
  CreateApiKeyInput,
  CreateTemporaryKeyInput,
  TemporaryKeySession,
  TestOperations,
} from './operations.js'
export type { CreatedKey } from '../services/keys.js'
export type { AuditEvent } from '../store/types.js'

/** Options of {@link startEmulator}: those of `eyepop-emulator start`, and the clock. */
export interface StartEmulatorOptions extends Partial<EmulatorConfig> {
  /**
   * `virtual`: the emulator's time is real time plus an offset that `clock.advance()` moves
   * forward. `real` (default): real time; `advance()` throws.
   */
  clock?: 'virtual' | 'real'
}

/** A running emulator under a test's control. */
export interface TestEmulator extends TestOperations {
  /** The emulator's URL: the SDKs' `eyepopUrl`, the issuer of its tokens. */
  readonly url: string
  /** The emulator's clock. */
  readonly clock: VirtualClock
  /** Faults for the next requests to a route. */
  readonly faults: FaultPlan
  /** The running server underneath (its Express app, services, Node server). */
  readonly server: RunningServer
  /**
   * A new empty emulator at the same URL: only the default account (a new id), no keys, Pops or
   * sessions, new signing keys (tokens issued before are refused), no pending faults. The clock
   * keeps its time.
   */
  reset(): Promise<void>
  /** Stops it and frees its port. */
  close(): Promise<void>
}

/**
 * Starts an emulator for a test: in memory, on 127.0.0.1 and a free port, quiet; `options` as
 * `eyepop-emulator start`'s (`dataDir` for a SQLite data dir; `reset()` is then refused).
 *
 * @throws {TypeError} for an option out of range (the message names it)
 */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<TestEmulator> {
  const { clock: mode = 'real', ...config } = options
  if (mode !== 'virtual' && mode !== 'real') throw new TypeError('"clock" must be "virtual" or "real"')
  const clock = createVirtualClock({ virtual: mode === 'virtual' })
  const faults = createFaultPlan()
  const server = await startServer(
    { port: 0, host: '127.0.0.1', dataDir: null, logLevel: 'silent', ...config },
    { clock, faults },
  )
  return {
    ...createTestOperations(server),
    url: server.url,
    clock,
    faults,
    server,
    reset: () => server.reset(),
    close: () => server.close(),
  }
}
