/**
 * The domain's errors: what a service refuses, and why, in words of the domain, with no HTTP in
 * them. The one error mapping (`http/error-handler.ts`, `toOAuthError`) turns each into its
 * response; the CLI prints its message.
 *
 * @module
 */

/** A refusal by a service. `message` states the rule that was broken; it never holds a secret. */
export abstract class DomainError extends Error {
  /** Which rule: the error mapping answers each kind one way. */
  abstract readonly kind: 'invalid_input' | 'not_allowed' | 'limit_exceeded' | 'scope_not_allowed' | 'unknown_target' | 'credential_expiring'

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A value the caller gave breaks a rule (a malformed email, a too-short password, an unknown choice). */
export class InvalidInput extends DomainError {
  readonly kind = 'invalid_input'
}

/** The caller is who it says, but may not do this (a temporary key minting another). */
export class NotAllowed extends DomainError {
  readonly kind = 'not_allowed'
}

/** An account has as many of something (live keys, compute sessions) as it may. */
export class LimitExceeded extends DomainError {
  readonly kind = 'limit_exceeded'
}

/** The scope asked for is empty or broader than the credential that grants it. */
export class ScopeNotAllowed extends DomainError {
  readonly kind = 'scope_not_allowed'
}

/** The resource a token is asked for (a Pop) does not exist for this account. */
export class UnknownTarget extends DomainError {
  readonly kind = 'unknown_target'
}

/** The presented credential expires too soon for what it is asked to grant. */
export class CredentialExpiring extends DomainError {
  readonly kind = 'credential_expiring'
}
