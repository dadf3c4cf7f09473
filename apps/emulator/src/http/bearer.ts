import { errors, readBearerCredential } from '@eyepop/auth-core'
import type { IncomingMessage } from 'node:http'
import { InvalidClient } from './errors.js'

/**
 * The credential (an API key or an access token) presented as `Authorization: Bearer …`, read as
 * auth-core reads it, refused as a client that did not authenticate (`invalid_client`, 401).
 *
 * @throws {InvalidClient} when the header is missing, empty or not a single Bearer credential
 */
export function bearerCredential(req: IncomingMessage): string {
  try {
    return readBearerCredential(req, 'api key')
  } catch (err) {
    if (err instanceof errors.CredentialMissing) {
      throw new InvalidClient('api key must be provided in the Authorization header as a Bearer token')
    }
    if (err instanceof errors.AuthorizationMalformed) throw new InvalidClient(err.message)
    throw err
  }
}
