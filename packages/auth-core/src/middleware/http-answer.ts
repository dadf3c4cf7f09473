import type { AnyAuthCoreError } from '../errors.js'

/** How an HTTP server answers an auth-core error (see {@link httpAnswerOf}). */
export interface HttpAnswer {
  /** The HTTP status. */
  readonly status: 400 | 401 | 403 | 404 | 409 | 500 | 503
  /** The OAuth `error` code (RFC 6749 §5.2, RFC 6750 §3.1), or `server_error`. */
  readonly error: string
  /** The `error_description`: the error's message, which never holds a secret. */
  readonly description: string
  /** Whether the description may be sent: false for a 5xx, whose details stay in the log. */
  readonly expose: boolean
  /** Seconds after which the client may try again (`Retry-After`), if any. */
  readonly retryAfterSeconds?: number
}

/**
 * The one mapping of auth-core errors to HTTP answers, used by {@link requireAccessToken} and by
 * the emulator's error handler, so a given error gets the same status on every route: a bad API
 * key is 401 `invalid_client`, a bad token 401 `invalid_token`, a token that does not reach the
 * resource 403 `insufficient_scope`, an unknown revocation status 503 with `Retry-After` (the token
 * may be good: try again shortly), a store that failed (a database restarting, a lost connection)
 * 503 with `Retry-After` and a fixed description (its own message, which may name a path or a host,
 * stays in the log).
 */
export function httpAnswerOf(err: AnyAuthCoreError): HttpAnswer {
  const answer = (status: HttpAnswer['status'], error: string, description = err.message): HttpAnswer => ({
    status,
    error,
    description,
    expose: status < 500,
  })
  switch (err.code) {
    case 'ERR_API_KEY_MALFORMED':
      return answer(401, 'invalid_client', 'api key is malformed (wrong prefix, length or checksum)')
    case 'ERR_API_KEY_INVALID':
    case 'ERR_API_KEY_EXPIRED':
    case 'ERR_API_KEY_REVOKED':
      return answer(401, 'invalid_client')
    case 'ERR_TOKEN_INVALID':
    case 'ERR_TOKEN_EXPIRED':
    case 'ERR_TOKEN_CLAIM_INVALID':
    case 'ERR_TOKEN_REVOKED':
      return answer(401, 'invalid_token')
    case 'ERR_TOKEN_SCOPE_INSUFFICIENT':
      return answer(403, 'insufficient_scope')
    case 'ERR_CREDENTIAL_MISSING':
      // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
      return answer(401, 'invalid_request')
    case 'ERR_AUTHORIZATION_MALFORMED':
      return answer(400, 'invalid_request')
    case 'ERR_NOT_FOUND':
      return answer(404, 'not_found')
    case 'ERR_CONFLICT':
      return answer(409, 'conflict')
    case 'ERR_REVOCATION_STALE':
      return { ...answer(503, 'temporarily_unavailable'), expose: true, retryAfterSeconds: 1 }
    case 'ERR_STORE':
      return {
        ...answer(503, 'temporarily_unavailable', 'the key store is not available; try again shortly'),
        expose: true,
        retryAfterSeconds: 1,
      }
    default:
      return answer(500, 'server_error')
  }
}
