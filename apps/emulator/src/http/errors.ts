/**
 * HTTP errors of the emulator, in OAuth style: each carries its status, the OAuth `error` code and
 * a lowercase `error_description` that states the rule that was broken. `expose` is false for 5xx,
 * whose details never reach the client.
 */
export class OAuthError extends Error {
  readonly status: number
  readonly error: string
  readonly expose: boolean
  /** An extra `WWW-Authenticate` challenge to send, if any. */
  readonly challenge: string | undefined
  /** Seconds after which the client may try again (`Retry-After`), if any. */
  readonly retryAfterSeconds: number | undefined

  constructor(
    status: number,
    error: string,
    description: string,
    options: ErrorOptions & { challenge?: string; retryAfterSeconds?: number; expose?: boolean } = {},
  ) {
    super(description, options)
    this.name = new.target.name
    this.status = status
    this.error = error
    this.expose = options.expose ?? status < 500
    this.challenge = options.challenge
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/**
 * 503 `temporarily_unavailable` (RFC 6749 §4.1.2.1): the emulator cannot answer this now (its
 * OAuth provider failed to load, a revocation list is stale), and says when to try again. Exposed:
 * its description says what is unavailable, never why in detail.
 */
export class TemporarilyUnavailable extends OAuthError {
  constructor(description: string, retryAfterSeconds = 1, options?: ErrorOptions) {
    super(503, 'temporarily_unavailable', description, { ...options, retryAfterSeconds, expose: true })
  }
}

/** 400 `invalid_request`: the request is missing or has a malformed parameter. */
export class InvalidRequest extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(400, 'invalid_request', description, options)
  }
}

/** 401 `invalid_client`: the API key (the client credential) failed. */
export class InvalidClient extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(401, 'invalid_client', description, { ...options, challenge: 'Bearer realm="eyepop"' })
  }
}

/** `value` as an RFC 6750 §3 challenge parameter: no `"`, `\\` or non-ASCII. */
function quotable(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'")
}

/** 401 `invalid_token`: the access token failed (RFC 6750). */
export class InvalidToken extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(401, 'invalid_token', description, {
      ...options,
      challenge: `Bearer realm="eyepop", error="invalid_token", error_description="${quotable(description)}"`,
    })
  }
}

/** 403 `access_denied`: authenticated, but not allowed to reach this resource. */
export class AccessDenied extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(403, 'access_denied', description, options)
  }
}

/** 404 `not_found`. */
export class NotFoundError extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(404, 'not_found', description, options)
  }
}

/** 400 `invalid_target`: the requested resource (a Pop) is unknown or not allowed. */
export class InvalidTarget extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(400, 'invalid_target', description, options)
  }
}

/** 400 `invalid_scope`: the requested scope is broader than what is allowed. */
export class InvalidScope extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(400, 'invalid_scope', description, options)
  }
}

/** 403 `insufficient_scope` (RFC 6750): the token is valid but does not reach this resource. */
export class InsufficientScope extends OAuthError {
  /** `scope`: the scopes the resource requires, named in the challenge. */
  constructor(description: string, options?: ErrorOptions & { scope?: readonly string[] }) {
    const scope = options?.scope?.length ? `, scope="${options.scope.join(' ')}"` : ''
    super(403, 'insufficient_scope', description, {
      ...options,
      challenge: `Bearer realm="eyepop", error="insufficient_scope", error_description="${quotable(description)}"${scope}`,
    })
  }
}

/**
 * 401 without a credential (RFC 6750 §3.1): a challenge without an error code; the body says
 * `invalid_request`.
 */
export class CredentialRequired extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(401, 'invalid_request', description, { ...options, challenge: 'Bearer realm="eyepop"' })
  }
}

/** 400 `invalid_request` for a malformed `Authorization` header, with its RFC 6750 challenge. */
export class MalformedAuthorization extends OAuthError {
  constructor(description: string, options?: ErrorOptions) {
    super(400, 'invalid_request', description, {
      ...options,
      challenge: `Bearer realm="eyepop", error="invalid_request", error_description="${quotable(description)}"`,
    })
  }
}

/**
 * 429 `too_many_requests` (RFC 6585): this client has started too many of something in a window,
 * and says when to try again.
 */
export class TooManyRequests extends OAuthError {
  constructor(description: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(429, 'too_many_requests', description, { ...options, retryAfterSeconds })
  }
}
