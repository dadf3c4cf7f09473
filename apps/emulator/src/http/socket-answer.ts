/**
 * Answers written on a raw socket, where no `ServerResponse` exists: a request Node refused
 * (`clientError`) and a refused WebSocket upgrade.
 *
 * @module
 */
import type { Duplex } from 'node:stream'
import { errorBody } from './to-error-body.js'

/**
 * Writes `status` with the JSON error body of `error` and `description` (and `extraHeaders`, each
 * ending in CRLF), then ends the socket. Node takes its own error listener off a socket it hands to
 * `upgrade`: one is added here, so a client that resets before the answer is written (ECONNRESET,
 * EPIPE) costs its socket, not the process.
 */
export function answerOnSocket(socket: Duplex, status: string, error: string, description: string, extraHeaders = ''): void {
  socket.on('error', () => socket.destroy())
  const body = JSON.stringify(errorBody(error, description))
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}Connection: close\r\n\r\n${body}`,
  )
}
