import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Listens on a free loopback port, prints `READY <url>` (the harness waits for it) and closes
 * cleanly on SIGTERM or SIGINT.
 */
export function listenOnLoopback(server: Server): void {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo
    console.log(`READY http://127.0.0.1:${port}`)
  })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
