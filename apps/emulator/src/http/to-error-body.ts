import type { OAuthError } from './errors.js'

/**
 * The JSON error body of every emulator error: OAuth's `error` and `error_description` (RFC 6749
 * §5.2), and the same description as `message`, which the EyePop Node SDK 3.x prints after the
 * code (it joins `code`, `error`, `message` and `details`: `limit_exceeded: this account has …`).
 * There is no separate `code`: the SDK would print the OAuth code twice.
 */
export interface ErrorBody {
  error: string
  error_description: string
  message: string
}

/**
 * The only serializer of errors: exposed errors give `{error, error_description, message}`,
 * anything else `server_error` with no internal detail.
 */
export function toErrorBody(err: OAuthError | undefined): ErrorBody {
  if (!err || !err.expose) return errorBody('server_error', 'the server failed to handle the request')
  return errorBody(err.error, err.message)
}

/** The error body of an OAuth `error` code and its description. */
export function errorBody(error: string, description: string): ErrorBody {
  return { error, error_description: description, message: description }
}
