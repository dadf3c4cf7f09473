import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createApp, type CreateAppOptions, type EmulatorApp } from './app.js'
import type { EmulatorConfig } from './config/defaults.js'
import { issuerOf, resolveConfig, withListenAddress } from './config/schema.js'
import { answerOnSocket } from './http/socket-answer.js'
import { errorBody } from './http/to-error-body.js'
import { TEST_CONTROL_PREFIX, createTestControl } from './testing/control.js'
import { createFaultPlan, withFaults, type FaultPlan } from './testing/faults.js'
import { createVirtualClock, type VirtualClock } from './testing/virtual-clock.js'

/** Options of {@link startServer}. */
export interface StartServerOptions extends CreateAppOptions {
  /**
   * The emulator's clock, which tests move forward (its `now` is the app's unless `now` is given).
   * Default: real time; with `testControl`, a virtual clock.
   */
  clock?: VirtualClock
  /** Faults applied before any route (tests). Default: none; with `testControl`, an empty plan. */
  faults?: FaultPlan
}

/** A listening emulator. */
export interface RunningServer {
  /** The base URL: the issuer and the SDK's `eyepopUrl`. */
  readonly url: string
  readonly server: Server
  /** The emulator serving now (a new one after {@link reset}). */
  readonly emulator: EmulatorApp
  /** The clock, when one was given or `testControl` is on. */
  readonly clock: VirtualClock | undefined
  /** The faults, when a plan was given or `testControl` is on. */
  readonly faults: FaultPlan | undefined
  /**
   * Replaces the emulator with a new one at the same address and config, and drops pending faults:
   * a new in-memory store (only the default account, no keys or Pops), new signing keys (tokens
   * issued before are refused), no sessions. The clock keeps its time.
   *
   * @throws {TypeError} when the store is a data dir or was given by the caller (it is not wiped)
   */
  reset(): Promise<void>
  /** Stops accepting connections, closes open ones and the store. */
  close(): Promise<void>
}

/** The most requests held while the emulator is being built; more get 503 at once. */
const MAX_EARLY_REQUESTS = 1024

/** Answers a request the emulator cannot take now with 503 and `Retry-After`. */
function sendUnavailable(res: ServerResponse, description: string): void {
  const body = JSON.stringify(errorBody('temporarily_unavailable', description))
  res.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Retry-After': '1', 'Cache-Control': 'no-store' })
  res.end(body)
}

/**
 * Starts the emulator. The socket is bound first, so with `port: 0` the issuer carries the port
 * the system picked. Requests that arrive while the emulator is being built (clients that poll as
 * soon as the port opens) are held and answered once it is (at most {@link MAX_EARLY_REQUESTS};
 * more get 503 with `Retry-After`), or get 503 if it fails to build.
 */
export async function startServer(
  input: Partial<EmulatorConfig> = {},
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const config = resolveConfig(input)
  // A request without the Host header HTTP/1.1 requires is refused by the dispatcher, with a JSON
  // body, rather than by Node with a bare 400.
  const server = createServer({ requireHostHeader: false })
  // Slow clients cannot hold a socket forever.
  server.headersTimeout = config.headersTimeoutMs
  server.requestTimeout = config.requestTimeoutMs
  server.keepAliveTimeout = config.keepAliveTimeoutMs
  // Requests Node refuses before Express sees them (oversized headers, malformed HTTP) still get a
  // JSON error body.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'
    answerOnSocket(socket, status, 'invalid_request', tooLarge ? 'request headers are too large' : 'request is not valid HTTP')
  })
  const early: Array<[IncomingMessage, ServerResponse]> = []
  const holdEarly = (req: IncomingMessage, res: ServerResponse): void => {
    if (early.length >= MAX_EARLY_REQUESTS) sendUnavailable(res, 'the emulator is starting; try again')
    else early.push([req, res])
  }
  const refuseEarlyUpgrade = (_req: IncomingMessage, socket: Duplex): void => {
    answerOnSocket(socket, '503 Service Unavailable', 'temporarily_unavailable', 'the emulator is starting; try again', 'Retry-After: 1\r\n')
  }
  server.on('request', holdEarly)
  server.on('upgrade', refuseEarlyUpgrade)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const issuer = config.issuer ?? issuerOf({ ...config, port })
  const clock = options.clock ?? (config.testControl ? createVirtualClock() : undefined)
  const faults = options.faults ?? (config.testControl ? createFaultPlan() : undefined)
  const appOptions: CreateAppOptions = { ...options, ...(clock && !options.now && { now: clock.now }) }
  const listening = withListenAddress(config, port, issuer)
  const build = () => createApp(listening, appOptions)
  let emulator: EmulatorApp
  try {
    emulator = await build()
  } catch (err) {
    for (const [, res] of early.splice(0)) sendUnavailable(res, 'the emulator failed to start')
    server.close()
    server.closeAllConnections()
    throw err
  }
  // The emulator serving now: reset() puts a new one in its place.
  let handler: RequestListener = (req, res) => emulator.handler(req, res)
  if (faults) handler = withFaults(faults, handler)
  const running: RunningServer = {
    url: issuer,
    server,
    get emulator() {
      return emulator
    },
    clock,
    faults,
    async reset() {
      if (options.store !== undefined || config.dataDir !== null || config.databaseUrl !== undefined) {
        throw new TypeError('only an emulator with its own in-memory store can be reset')
      }
      const next = await build()
      const previous = emulator
      emulator = next
      faults?.clear()
      await previous.close()
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      // Ends the WebSockets too, which the server waits for.
      await emulator.close()
      await closed
    },
  }
  if (config.testControl) {
    const control = createTestControl(running)
    const served = handler
    handler = (req, res) => ((req.url ?? '').startsWith(TEST_CONTROL_PREFIX) ? control(req, res) : served(req, res))
  }
  server.off('request', holdEarly)
  server.off('upgrade', refuseEarlyUpgrade)
  server.on('request', handler)
  server.on('upgrade', (req, socket, head) => emulator.handleUpgrade(req, socket, head))
  for (const [req, res] of early.splice(0)) if (!res.destroyed) handler(req, res)
  return running
}
