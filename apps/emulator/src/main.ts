import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
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

/**
 * Starts the emulator. The socket is bound first, so with `port: 0` the issuer carries the port
 * the system picked.
 */
export async function startServer(
  input: Partial<EmulatorConfig> = {},
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const config = resolveConfig(input)
  const server = createServer()
  // Slow clients cannot hold a socket forever.
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  server.keepAliveTimeout = 5_000
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
    server.close()
    throw err
  }
  server.on('request', emulator.handler)
  server.on('upgrade', emulator.handleUpgrade)
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
