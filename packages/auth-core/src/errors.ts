/**
 * Typed errors of `@eyepop/auth-core`.
 *
 * Every error carries a stable `code` (a closed union, see {@link AuthCoreErrorCode}) so callers
 * switch on the code, never on the message. Errors carry no HTTP status: `httpAnswerOf` (in
 * `middleware/http-answer.ts`) maps codes to HTTP answers in exactly one place, for this package's
 * middleware and the emulator alike. Messages state the rule that was broken and never contain a
 * secret (an API key, an access token or a signing key).
 *
 * @module
 */

/** The closed set of error codes. */
export type AuthCoreErrorCode =
  | 'ERR_API_KEY_MALFORMED'
  | 'ERR_API_KEY_INVALID'
  | 'ERR_API_KEY_EXPIRED'
  | 'ERR_API_KEY_REVOKED'
  | 'ERR_TOKEN_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_CLAIM_INVALID'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_TOKEN_SCOPE_INSUFFICIENT'
  | 'ERR_CREDENTIAL_MISSING'
  | 'ERR_AUTHORIZATION_MALFORMED'
  | 'ERR_REVOCATION_STALE'
  | 'ERR_TOKEN_REQUEST_FAILED'
  | 'ERR_TOKEN_REQUEST_TIMEOUT'
  | 'ERR_NOT_FOUND'
  | 'ERR_CONFLICT'
  | 'ERR_STORE'

/** Base class of every error thrown by auth-core. */
export class AuthCoreError extends Error {
  /** The error code of this class. */
  static code: AuthCoreErrorCode = 'ERR_STORE'
  /** A stable, machine-readable code. */
  readonly code: AuthCoreErrorCode

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof AuthCoreError).code
    Error.captureStackTrace?.(this, new.target)
  }
}

/** The string is not an API key: wrong prefix, length, alphabet or checksum. Detected offline. */
export class ApiKeyMalformed extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_API_KEY_MALFORMED'
}

/** The API key is well formed but unknown. */
export class ApiKeyInvalid extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_API_KEY_INVALID'
}

/** The API key has passed its expiration time. */
export class ApiKeyExpired extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_API_KEY_EXPIRED'
}

/** The API key was deleted or revoked. */
export class ApiKeyRevoked extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_API_KEY_REVOKED'
}

/** The access token is not a valid signed token of this issuer (malformed, bad signature, alg). */
export class TokenInvalid extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_TOKEN_INVALID'
}

/** The access token has expired. */
export class TokenExpired extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_TOKEN_EXPIRED'
}

/** A claim of the access token (issuer, audience, not-before, required claim) failed validation. */
export class TokenClaimInvalid extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_TOKEN_CLAIM_INVALID'
  /** The claim that failed, e.g. `aud`. */
  readonly claim: string

  constructor(message: string, claim: string, options?: ErrorOptions) {
    super(message, options)
    this.claim = claim
  }
}

/** The access token was revoked: on its own (RFC 7009), or with the API key it derives from. */
export class TokenRevoked extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_TOKEN_REVOKED'
  /** Why: `key_deleted` (its API key was deleted) or `token_revoked` (this token was revoked). */
  readonly reason: 'key_deleted' | 'token_revoked'

  constructor(message: string, reason: 'key_deleted' | 'token_revoked' = 'key_deleted', options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}

/**
 * The access token is valid but does not reach this resource: another Pop than the one a temporary
 * key is bound to, a browser origin it does not allow, or a missing scope.
 */
export class TokenScopeInsufficient extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_TOKEN_SCOPE_INSUFFICIENT'
  /** The scopes the resource requires, when a scope was missing (the challenge names them). */
  readonly requiredScopes: readonly string[] | undefined

  constructor(message: string, options?: ErrorOptions & { requiredScopes?: readonly string[] }) {
    super(message, options)
    this.requiredScopes = options?.requiredScopes
  }
}

/** A request to a protected resource carries no credential (no `Authorization` header). */
export class CredentialMissing extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_CREDENTIAL_MISSING'
}

/** The `Authorization` header is malformed: sent twice, or not `Bearer <token>`. */
export class AuthorizationMalformed extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_AUTHORIZATION_MALFORMED'
}

/**
 * The revocation list has not been refreshed for too long (its source is unreachable), so whether a
 * token was revoked is unknown: verification fails closed rather than accept a revoked token.
 */
export class RevocationStale extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_REVOCATION_STALE'
}

/** A token request was answered with an error, or could not be made. */
export class TokenRequestFailed extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_TOKEN_REQUEST_FAILED'
  /** The HTTP status of the answer, when there was one. */
  readonly status: number | undefined
  /** The OAuth `error` code of the answer, when there was one. */
  readonly error: string | undefined

  constructor(
    message: string,
    details: { status?: number; error?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.status = details.status
    this.error = details.error
  }
}

/** A token request did not complete in time. */
export class TokenRequestTimeout extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_TOKEN_REQUEST_TIMEOUT'
}

/** A record (account, key, pop) does not exist. */
export class NotFound extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_NOT_FOUND'
}

/** A record conflicts with an existing one (duplicate id or unique field). */
export class Conflict extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_CONFLICT'
}

/** The store failed (I/O, corrupt data, unsupported schema version). */
export class StoreError extends AuthCoreError {
  static override code: AuthCoreErrorCode = 'ERR_STORE'
}

/** Any error thrown by auth-core, as a discriminated union on `code`. */
export type AnyAuthCoreError =
  | ApiKeyMalformed
  | ApiKeyInvalid
  | ApiKeyExpired
  | ApiKeyRevoked
  | TokenInvalid
  | TokenExpired
  | TokenClaimInvalid
  | TokenRevoked
  | TokenScopeInsufficient
  | CredentialMissing
  | AuthorizationMalformed
  | RevocationStale
  | TokenRequestFailed
  | TokenRequestTimeout
  | NotFound
  | Conflict
  | StoreError

/** Whether `value` is an error thrown by auth-core. */
export function isAuthCoreError(value: unknown): value is AnyAuthCoreError {
  return value instanceof AuthCoreError
}
