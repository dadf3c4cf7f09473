import type { IncomingMessage, ServerResponse } from 'node:http'
import { AuthorizationMalformed, CredentialMissing, isAuthCoreError, TokenScopeInsufficient } from '../errors.js'
import { countHeader } from '../lib/headers.js'
import { httpAnswerOf } from './http-answer.js'
import { assertOriginAllowed, assertPopAccess } from '../token/access.js'
import type { AccessTokenVerifier, VerifiedAccessToken } from '../token/verify.js'

/** The verified principal of a request: what {@link createAuthenticator} resolves, and `req.auth` after {@link requireAccessToken}. */
export interface AccessPrincipal extends VerifiedAccessToken {
  /** The account id (`sub`). */
  readonly accountId: string
  /** The API key id the token derives from. */
  readonly keyId: string
}

/** A request that passed {@link requireAccessToken}. */
export type AuthenticatedRequest = IncomingMessage & { auth: AccessPrincipal }

/** Options of {@link createAuthenticator} and {@link requireAccessToken}. */
export interface AuthenticateOptions<Req extends IncomingMessage = IncomingMessage> {
  /** Verifies the bearer token. */
  verify: AccessTokenVerifier
  /** Scopes the token must all carry. Default: none. */
  scopes?: readonly string[]
  /**
   * The Pop a request is about, for Pop-bound temporary keys: a temporary key on another Pop gets
   * 403. Return `null` for a route that is not about one Pop (temporary keys are refused there),
   * `undefined` to skip the check. Default: skip.
   */
  pop?: (req: Req) => string | null | undefined
}

/** Options of {@link requireAccessToken}. */
export interface RequireAccessTokenOptions<Req extends IncomingMessage = IncomingMessage> extends AuthenticateOptions<Req> {
  /** The `realm` of the `WWW-Authenticate` challenge. Default is `eyepop`. */
  realm?: string
}

/**
 * Authenticates one request: its principal, at once (a token the verifier has verified before, see
 * its `cache` option) or as a promise (a new token). Throws, or rejects with, an auth-core error.
 */
export type Authenticate<Req extends IncomingMessage = IncomingMessage> = (req: Req) => AccessPrincipal | Promise<AccessPrincipal>

type Next = (err?: unknown) => void

// The scheme is case-insensitive (RFC 7235 §2.1); the token is RFC 6750 §2.1's b64token.
const BEARER_RE = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i
const BEARER_SCHEME_RE = /^Bearer /i

/**
 * The request authentication of a resource server protected with EyePop access tokens, as a
 * function of the request. It checks:
 * - an `Authorization: Bearer <token>` header is present (`CredentialMissing`), once and well
 *   formed (`AuthorizationMalformed`);
 * - the token verifies (signature, `alg`, `iss`, `aud`, expiry, the API key not deleted; the
 *   verifier's errors, `RevocationStale` while revocation status is unknown);
 * - it carries every required scope, and a temporary key is used on its own Pop and from an origin
 *   it allows (`TokenScopeInsufficient`).
 * {@link httpAnswerOf} says how to answer each error; {@link requireAccessToken} is the middleware
 * over this function.
 *
 * @example
 * ```ts
 * const authenticate = createAuthenticator({ verify, scopes: ['inference'] })
 * const { accountId } = await authenticate(req)
 * ```
 */
export function createAuthenticator<Req extends IncomingMessage = IncomingMessage>(options: AuthenticateOptions<Req>): Authenticate<Req> {
  const required = options.scopes ?? []

  /** The principal of a verified token: scopes, then the Pop and origin of a temporary key. */
  function admit(req: Req, verified: VerifiedAccessToken): AccessPrincipal {
    if (required.some((scope) => !verified.scopes.includes(scope))) {
      throw new TokenScopeInsufficient('access token lacks a required scope', { requiredScopes: required })
    }
    const popId = options.pop?.(req)
    if (popId !== undefined) assertPopAccess(verified.claims, popId)
    assertOriginAllowed(verified.claims, req.headers.origin)
    return { ...verified, accountId: verified.claims.sub, keyId: verified.claims.key_id }
  }

  // Not an async function: a reused token is answered from the verifier's cache (its expiry and
  // revocation checked again all the same) without a promise.
  return function authenticate(req) {
    // A token verified before is looked up first: it passed the syntax check the first time (a
    // verified token is three base64url parts), so only a new one is read in full.
    const header = req.headers.authorization
    const candidate = header !== undefined && BEARER_SCHEME_RE.test(header) ? header.slice(7) : undefined
    const cached = candidate === undefined ? undefined : options.verify.cached?.(candidate)
    if (cached && countHeader(req.rawHeaders, 'authorization') === 1) return admit(req, cached)
    return options.verify(readBearerCredential(req, 'access token')).then((verified) => admit(req, verified))
  }
}

/**
 * The credential of an `Authorization: Bearer <credential>` header (RFC 6750 §2.1: the scheme in
 * any case, one space, a b64token), sent once. `name` says what the credential is, in the error
 * when it is missing (default `credential`).
 *
 * @example
 * ```ts
 * const apiKey = readBearerCredential(req)
 * ```
 *
 * @throws {CredentialMissing} when the request has no `Authorization` header, or an empty one
 * @throws {AuthorizationMalformed} when the header is sent more than once, or is not a single Bearer credential
 */
export function readBearerCredential(req: IncomingMessage, name = 'credential'): string {
  const header = req.headers.authorization
  if (header !== undefined && countHeader(req.rawHeaders, 'authorization') > 1) {
    throw new AuthorizationMalformed('authorization header must be sent once')
  }
  if (header === undefined || header.trim() === '') {
    throw new CredentialMissing(`${name} must be provided in the Authorization header`)
  }
  const match = BEARER_RE.exec(header)
  if (!match) throw new AuthorizationMalformed('authorization header must use the Bearer scheme')
  return match[1]!
}

/**
 * The JSON body of a refusal: OAuth's `error` and `error_description`, and the description again as
 * `message`, which the EyePop Node SDK 3.x prints after the code.
 */
function errorBody(error: string, description: string): string {
  return JSON.stringify({ error, error_description: description, message: description })
}

/** `value` without the characters RFC 6750 §3 forbids in a challenge parameter (`"`, `\`, non-ASCII). */
function quotable(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'")
}

/**
 * Answers an auth-core error as {@link httpAnswerOf} says, with RFC 6750's `WWW-Authenticate`
 * challenge on a 400, 401 or 403 (without an error code when the request had no credential; with
 * the required scopes when one was missing). Anything else goes to `next`.
 */
function refuse(res: ServerResponse, realm: string, next: Next, err: unknown): void {
  if (!isAuthCoreError(err)) {
    next(err)
    return
  }
  const answer = httpAnswerOf(err)
  const description = answer.expose ? answer.description : 'the server failed to handle the request'
  res.statusCode = answer.status
  if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
    const params = [`realm="${realm}"`]
    if (err.code !== 'ERR_CREDENTIAL_MISSING') params.push(`error="${answer.error}"`, `error_description="${quotable(description)}"`)
    if (err instanceof TokenScopeInsufficient && err.requiredScopes) params.push(`scope="${err.requiredScopes.join(' ')}"`)
    res.setHeader('WWW-Authenticate', `Bearer ${params.join(', ')}`)
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  if (answer.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(answer.retryAfterSeconds))
  res.end(errorBody(answer.error, description))
}

/**
 * Express (or plain `node:http`) middleware over {@link createAuthenticator}: it answers a refused
 * request itself (RFC 6750: 401 with a bare challenge without a token, 400 `invalid_request` for a
 * malformed header, 401 `invalid_token`, 403 `insufficient_scope`, 503 `temporarily_unavailable`
 * with `Retry-After` while revocation status is unknown), and on success attaches the principal as
 * `req.auth` and calls `next()`. A token verified before is admitted before the middleware
 * returns; a new one asynchronously, and the middleware returns that promise (errors that are not
 * auth-core's go to `next(err)`, not to the promise).
 *
 * @example
 * ```ts
 * app.use('/pops', requireAccessToken({ verify }))
 * ```
 */
export function requireAccessToken<Req extends IncomingMessage = IncomingMessage>(options: RequireAccessTokenOptions<Req>) {
  const realm = options.realm ?? 'eyepop'
  const authenticate = createAuthenticator(options)
  const admit = (req: Req, next: Next, principal: AccessPrincipal) => {
    ;(req as Req & { auth: AccessPrincipal }).auth = principal
    next()
  }
  return function requireAccessTokenMiddleware(req: Req, res: ServerResponse, next: Next): Promise<void> | undefined {
    let result: AccessPrincipal | Promise<AccessPrincipal>
    try {
      result = authenticate(req)
    } catch (err) {
      refuse(res, realm, next, err)
      return undefined
    }
    if (!(result instanceof Promise)) {
      admit(req, next, result)
      return undefined
    }
    return result.then(
      (principal) => admit(req, next, principal),
      (err: unknown) => refuse(res, realm, next, err),
    )
  }
}
