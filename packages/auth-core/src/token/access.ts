import { TokenScopeInsufficient } from '../errors.js'
import type { AccessTokenClaims } from './claims.js'

/**
 * Checks that a verified token reaches a Pop: a server token reaches every Pop of its account (the
 * caller checks the account), a temporary key only the Pop it is bound to.
 *
 * @throws {TokenScopeInsufficient} when a temporary key is used on another Pop, or on a route that
 *   is not about one Pop (`popId` `null`, e.g. starting a transient worker)
 */
export function assertPopAccess(claims: AccessTokenClaims, popId: string | null): void {
  if (!claims.temporary) return
  if (popId === null) throw new TokenScopeInsufficient('temporary key only reaches the pop it was minted for')
  if (claims.pop_id !== popId) throw new TokenScopeInsufficient('temporary key is bound to another pop')
}

/**
 * Checks the browser origin of a request against a temporary key's `allowed_origins`. Requests
 * without an `Origin` header (not from a browser) pass: origin binding stops other web sites from
 * using a leaked key, it is not a credential.
 *
 * @throws {TokenScopeInsufficient} when the origin is not allowed
 */
export function assertOriginAllowed(claims: AccessTokenClaims, origin: string | undefined): void {
  if (!claims.allowed_origins || origin === undefined) return
  if (!claims.allowed_origins.includes(origin)) {
    throw new TokenScopeInsufficient('temporary key is not allowed from this origin')
  }
}
