import { countHeader } from '@eyepop/auth-core'
import type { IncomingMessage } from 'node:http'
import { InvalidClient } from './errors.js'

// The scheme is case-insensitive (RFC 7235 §2.1).
const BEARER_RE = /^Bearer +(\S+)$/i

/**
 * The credential (an API key or an access token) presented as `Authorization: Bearer …`.
 *
 * @throws {InvalidClient} when the header is missing, empty or not a single Bearer credential
 */
export function bearerCredential(req: IncomingMessage): string {
  const header = req.headers.authorization
  if (header !== undefined && countHeader(req.rawHeaders, 'authorization') > 1) {
    throw new InvalidClient('authorization header must be sent once')
  }
  if (header === undefined || header.trim() === '') {
    throw new InvalidClient('api key must be provided in the Authorization header as a Bearer token')
  }
  const match = BEARER_RE.exec(header.trim())
  if (!match) {
    throw new InvalidClient('authorization header must use the Bearer scheme with a single api key')
  }
  return match[1]!
}
