import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createApp, type CreateAppOptions, type EmulatorApp } from './app.js'
import type { EmulatorConfig } from './config/defaults.js'
import { issuerOf, resolveConfig } from './config/schema.js'
import { errorBody } from './http/to-error-body.js'

/** Options of {@link startServer}. */
export type StartServerOptions = CreateAppOptions

/** A listening emulator. */
export interface RunningServer {
  /** The base URL: the issuer and the SDK's `eyepopUrl`. */
  readonly url: string
  readonly server: Server
  readonly emulator: EmulatorApp
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
    const body = JSON.stringify(errorBody('invalid_request', tooLarge ? 'request headers are too large' : 'request is not valid HTTP'))
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  })
  const early: Array<[IncomingMessage, ServerResponse]> = []
  const holdEarly = (req: IncomingMessage, res: ServerResponse): void => {
    if (early.length >= MAX_EARLY_REQUESTS) sendUnavailable(res, 'the emulator is starting; try again')
    else early.push([req, res])
  }
  const refuseEarlyUpgrade = (_req: IncomingMessage, socket: Duplex): void => {
    socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
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
  let emulator: EmulatorApp
  try {
    emulator = await createApp({ ...config, port, issuer }, options)
  } catch (err) {
    for (const [, res] of early.splice(0)) sendUnavailable(res, 'the emulator failed to start')
    server.close()
    server.closeAllConnections()
    throw err
  }
  server.off('request', holdEarly)
  server.off('upgrade', refuseEarlyUpgrade)
  server.on('request', emulator.handler)
  server.on('upgrade', emulator.handleUpgrade)
  for (const [req, res] of early.splice(0)) if (!res.destroyed) emulator.handler(req, res)
  return {
    url: issuer,
    server,
    emulator,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      // Ends the WebSockets too, which the server waits for.
      await emulator.close()
      await closed
    },
  }
}
