import type { IncomingMessage, ServerResponse } from 'node:http'
import { isAuthCoreError } from '../errors.js'
import { countHeader } from '../lib/headers.js'
import { httpAnswerOf } from './http-answer.js'
import { assertOriginAllowed, assertPopAccess } from '../token/access.js'
import type { AccessTokenVerifier, VerifiedAccessToken } from '../token/verify.js'

/** The verified principal attached to a request by {@link requireAccessToken}. */
export interface AccessPrincipal extends VerifiedAccessToken {
  /** The account id (`sub`). */
  readonly accountId: string
  /** The API key id the token derives from. */
  readonly keyId: string
}

/** A request that passed {@link requireAccessToken}. */
export type AuthenticatedRequest = IncomingMessage & { auth: AccessPrincipal }

/** Options of {@link requireAccessToken}. */
export interface RequireAccessTokenOptions {
  /** Verifies the bearer token. */
  verify: AccessTokenVerifier
  /** Scopes the token must all carry. Default: none. */
  scopes?: readonly string[]
  /** The `realm` of the `WWW-Authenticate` challenge. Default is `eyepop`. */
  realm?: string
  /**
   * The Pop a request is about, for Pop-bound temporary keys: a temporary key on another Pop gets
   * 403. Return `null` for a route that is not about one Pop (temporary keys are refused there),
   * `undefined` to skip the check. Default: skip.
   */
  pop?: (req: IncomingMessage) => string | null | undefined
}

type Next = (err?: unknown) => void

// The scheme is case-insensitive (RFC 7235 §2.1); the token is RFC 6750 §2.1's b64token.
const BEARER_RE = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i
const BEARER_SCHEME_RE = /^Bearer /i

/** `value` without the characters RFC 6750 §3 forbids in a challenge parameter (`"`, `\`, non-ASCII). */
/**
 * The JSON body of a refusal: OAuth's `error` and `error_description`, and the description again as
 * `message`, which the EyePop Node SDK 3.x prints after the code.
 */
function errorBody(error: string, description: string): string {
  return JSON.stringify({ error, error_description: description, message: description })
}

function quotable(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'")
}

function challenge(
  res: ServerResponse,
  status: 400 | 401 | 403,
  realm: string,
  error: string | undefined,
  description: string,
  scope?: string,
): void {
  const params = [`realm="${realm}"`]
  if (error) params.push(`error="${error}"`, `error_description="${quotable(description)}"`)
  if (scope) params.push(`scope="${scope}"`)
  res.statusCode = status
  res.setHeader('WWW-Authenticate', `Bearer ${params.join(', ')}`)
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(errorBody(error ?? 'invalid_request', description))
}

/**
 * Express (or plain `node:http`) middleware that protects a resource server with EyePop access
 * tokens, answering RFC 6750 errors. It checks:
 * - an `Authorization: Bearer <token>` header is present, once, and well formed
 *   (401 with a bare challenge when absent, 400 `invalid_request` when malformed);
 * - the token verifies (signature, `alg`, `iss`, `aud`, expiry, the API key not deleted),
 *   else 401 `invalid_token` (503 `temporarily_unavailable` while revocation status is unknown);
 * - it carries every required scope, else 403 `insufficient_scope`;
 * - a temporary key is used on its own Pop and from an origin it allows, else 403
 *   `insufficient_scope`.
 *
 * On success the principal is attached as `req.auth`. A token the verifier has verified before
 * (see its `cache` option) is answered before the middleware returns; a new one is verified
 * asynchronously, and the middleware returns that promise (verification errors that are not
 * auth-core's go to `next(err)`, not to the promise).
 *
 * @example
 * ```ts
 * app.use('/pops', requireAccessToken({ verify }))
 * ```
 */
export function requireAccessToken(options: RequireAccessTokenOptions) {
  const realm = options.realm ?? 'eyepop'
  const required = options.scopes ?? []

  /** Answers a request whose token verified: scopes, then the Pop and origin of a temporary key. */
  function admit(req: IncomingMessage, res: ServerResponse, next: Next, verified: VerifiedAccessToken): void {
    const missing = required.filter((scope) => !verified.scopes.includes(scope))
    if (missing.length > 0) {
      challenge(res, 403, realm, 'insufficient_scope', 'access token lacks a required scope', required.join(' '))
      return
    }
    try {
      const popId = options.pop?.(req)
      if (popId !== undefined) assertPopAccess(verified.claims, popId)
      assertOriginAllowed(verified.claims, req.headers.origin)
    } catch (err) {
      refuse(res, next, err)
      return
    }
    ;(req as AuthenticatedRequest).auth = {
      ...verified,
      accountId: verified.claims.sub,
      keyId: verified.claims.key_id,
    }
    next()
  }

  /** Answers a request refused with an auth-core error, as {@link httpAnswerOf} says. */
  function refuse(res: ServerResponse, next: Next, err: unknown): void {
    if (!isAuthCoreError(err)) {
      next(err)
      return
    }
    const answer = httpAnswerOf(err)
    const description = answer.expose ? answer.description : 'the server failed to handle the request'
    if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
      challenge(res, answer.status, realm, answer.error, description)
      return
    }
    res.statusCode = answer.status
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.setHeader('Cache-Control', 'no-store')
    if (answer.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(answer.retryAfterSeconds))
    res.end(errorBody(answer.error, description))
  }

  // Not an async function: a reused token is answered from the verifier's cache (its expiry and
  // revocation checked again all the same) without a promise, which Express would otherwise wait on.
  return function requireAccessTokenMiddleware(req: IncomingMessage, res: ServerResponse, next: Next): Promise<void> | undefined {
    const header = req.headers.authorization
    if (header !== undefined && countHeader(req.rawHeaders, 'authorization') > 1) {
      challenge(res, 400, realm, 'invalid_request', 'authorization header must be sent once')
      return undefined
    }
    if (header === undefined || header === '') {
      challenge(res, 401, realm, undefined, 'access token must be provided in the Authorization header')
      return undefined
    }
    // A token verified before is looked up first: it passed the syntax check the first time (a
    // verified token is three base64url parts), so only a new one is checked here.
    const candidate = BEARER_SCHEME_RE.test(header) ? header.slice(7) : undefined
    let verified: VerifiedAccessToken | undefined
    try {
      verified = candidate === undefined ? undefined : options.verify.cached?.(candidate)
    } catch (err) {
      refuse(res, next, err)
      return undefined
    }
    if (verified) {
      admit(req, res, next, verified)
      return undefined
    }
    const match = BEARER_RE.exec(header)
    if (!match) {
      challenge(res, 400, realm, 'invalid_request', 'authorization header must use the Bearer scheme')
      return undefined
    }
    const token = match[1]!
    let pending: Promise<VerifiedAccessToken>
    try {
      pending = options.verify(token)
    } catch (err) {
      refuse(res, next, err)
      return undefined
    }
    return pending.then(
      (result) => admit(req, res, next, result),
      (err: unknown) => refuse(res, next, err),
    )
  }
}
