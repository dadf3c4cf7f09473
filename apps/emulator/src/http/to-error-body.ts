import type { OAuthError } from './errors.js'

/** The JSON error body of every emulator error. */
export interface ErrorBody {
  error: string
  error_description?: string
}

/**
 * The only serializer of errors: exposed errors give `{error, error_description}`, anything else
 * `{error: 'server_error'}` with no internal detail.
 */
export function toErrorBody(err: OAuthError | undefined): ErrorBody {
  if (!err || !err.expose) {
    return { error: 'server_error', error_description: 'the server failed to handle the request' }
  }
  return { error: err.error, error_description: err.message }
}
