/**
 * Answers written on a raw socket, where no `ServerResponse` exists: a request Node refused
 * (`clientError`) and a refused WebSocket upgrade.
 *
 * @module
 */
import type { Duplex } from 'node:stream'
import { errorBody } from './to-error-body.js'

/** How long a client has to close its side once the answer is written, before the socket is destroyed. */
const LINGER_MS = 5000

/**
 * Writes `status` with the JSON error body of `error` and `description` (and `extraHeaders`, each
 * ending in CRLF), then ends the socket. Node takes its own error listener off a socket it hands to
 * `upgrade`: one is added here, so a client that resets before the answer is written (ECONNRESET,
 * EPIPE) costs its socket, not the process. Nothing else reads a socket handed to `upgrade`: what
 * the client sends after the head (a body) is read here and dropped, so its end is seen and the
 * socket closes (and no unread data turns the close into a reset that could cost the client the
 * answer). The HTTP server keeps sockets half-open and no request timeout covers these any more:
 * one still open 5 s after the answer is destroyed, or it would be held, and would hold
 * `server.close()`, for as long as the client likes.
 */
export function answerOnSocket(socket: Duplex, status: string, error: string, description: string, extraHeaders = ''): void {
  socket.on('error', () => socket.destroy())
  const linger = setTimeout(() => socket.destroy(), LINGER_MS)
  linger.unref()
  socket.once('close', () => clearTimeout(linger))
  const body = JSON.stringify(errorBody(error, description))
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}Connection: close\r\n\r\n${body}`,
  )
  socket.resume()
}
