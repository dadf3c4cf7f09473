import { errors, httpAnswerOf, isAuthCoreError, type AnyAuthCoreError } from '@eyepop/auth-core'
import accepts from 'accepts'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorRequestHandler, RequestHandler } from 'express'
import type { Logger } from 'pino'
import { DomainError } from '../services/errors.js'
import {
  AccessDenied,
  CredentialRequired,
  InsufficientScope,
  InvalidClient,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  InvalidToken,
  MalformedAuthorization,
  NotFoundError,
  OAuthError,
  TemporarilyUnavailable,
} from './errors.js'
import { requestPath } from './request-path.js'
import { toErrorBody } from './to-error-body.js'

/**
 * An auth-core error as an HTTP error: auth-core's {@link httpAnswerOf} (the one mapping, shared
 * with its `requireAccessToken`) decides status, code and description; this adds the challenge of
 * the error class (`invalid_client`, `invalid_token`, `insufficient_scope`).
 */
export function fromAuthCoreError(err: AnyAuthCoreError): OAuthError {
  const answer = httpAnswerOf(err)
  if (err instanceof errors.CredentialMissing) return new CredentialRequired(answer.description, { cause: err })
  if (err instanceof errors.AuthorizationMalformed) return new MalformedAuthorization(answer.description, { cause: err })
  switch (answer.error) {
    case 'invalid_client':
      return new InvalidClient(answer.description, { cause: err })
    case 'invalid_token':
      return new InvalidToken(answer.description, { cause: err })
    case 'insufficient_scope':
      return new InsufficientScope(answer.description, {
        cause: err,
        ...(err instanceof errors.TokenScopeInsufficient && err.requiredScopes && { scope: err.requiredScopes }),
      })
    case 'temporarily_unavailable':
      return new TemporarilyUnavailable(answer.description, answer.retryAfterSeconds, { cause: err })
    default:
      return new OAuthError(answer.status, answer.error, answer.description, {
        cause: err,
        expose: answer.expose,
        retryAfterSeconds: answer.retryAfterSeconds,
      })
  }
}

/** body-parser's error types, which Express attaches as `type`. */
function fromBodyParserError(err: { type?: string; status?: number }): OAuthError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new InvalidRequest('request body must be valid JSON')
    case 'entity.too.large':
      return new InvalidRequest('request body is too large')
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new InvalidRequest('request body encoding or charset is not supported')
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new InvalidRequest('request body could not be read')
    default:
      return undefined
  }
}

/** A service's refusal as its response: one answer per kind of {@link DomainError}. */
export function fromDomainError(err: DomainError): OAuthError {
  switch (err.kind) {
    case 'invalid_input':
      return new InvalidRequest(err.message, { cause: err })
    case 'not_allowed':
      return new AccessDenied(err.message, { cause: err })
    case 'limit_exceeded':
      return new OAuthError(409, 'limit_exceeded', err.message, { cause: err })
    case 'scope_not_allowed':
      return new InvalidScope(err.message, { cause: err })
    case 'unknown_target':
      return new InvalidTarget(err.message, { cause: err })
    case 'credential_expiring':
      return new InvalidToken(err.message, { cause: err })
  }
}

/** Normalizes anything thrown into an {@link OAuthError}. */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err
  if (isAuthCoreError(err)) return fromAuthCoreError(err)
  if (err instanceof DomainError) return fromDomainError(err)
  // Anything may be thrown, `null` and `undefined` too: the answer is then a plain 500.
  if (typeof err !== 'object' || err === null) return new OAuthError(500, 'server_error', 'unexpected error')
  const parsed = fromBodyParserError(err as { type?: string })
  if (parsed) return parsed
  // Other client errors raised by Express or its parsers (a bad %-escape in the path, a body
  // encoding that does not inflate) keep their 4xx without their internal message.
  const status = (err as { status?: unknown }).status
  if (status === 404) return new NotFoundError('not found', { cause: err })
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new OAuthError(status === 413 ? 400 : status, 'invalid_request', 'request is malformed', { cause: err })
  }
  return new OAuthError(500, 'server_error', 'unexpected error', { cause: err })
}

/** Sends `body` as JSON with its length, as Express's `res.json` would (no ETag). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(text))
  res.end(text)
}

/** Sends `text` as `contentType` (with `charset=utf-8`) and its length, as Express's `res.type().send()` would. */
export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.statusCode = status
  res.setHeader('Content-Type', `${contentType}; charset=utf-8`)
  res.setHeader('Content-Length', Buffer.byteLength(text))
  res.end(text)
}

/** Ends a response with `status` and no body (204, or a 200 with nothing to say). */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.statusCode = status
  res.end()
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * A 303 See Other to `location` (a path of the emulator's, already URL-encoded), with the short
 * note RFC 9110 §15.4 suggests, as Express's `res.redirect` writes it: plain text or HTML as the
 * request's `Accept` prefers (plain text without one), nothing for a client that accepts neither.
 */
export function sendRedirect(req: IncomingMessage, res: ServerResponse, location: string): void {
  const type = accepts(req).type(['text', 'html'])
  let body = ''
  if (type === 'text') body = `See Other. Redirecting to ${location}`
  if (type === 'html') {
    const href = location.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
    body = `<!DOCTYPE html><head><title>See Other</title></head><body><p>See Other. Redirecting to ${href}</p></body>`
  }
  res.statusCode = 303
  res.setHeader('Location', location)
  res.setHeader('Vary', 'Accept')
  if (type !== false) res.setHeader('Content-Type', `text/${type === 'text' ? 'plain' : 'html'}; charset=utf-8`)
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** Sends an error as JSON, with its challenge if any. */
export function sendError(res: ServerResponse, err: OAuthError): void {
  if (err.challenge) res.setHeader('WWW-Authenticate', err.challenge)
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds))
  res.setHeader('Cache-Control', 'no-store')
  sendJson(res, err.status, toErrorBody(err))
}

/** Answers a failed request, on Express or plain `node:http`: see {@link errorHandler}. */
export type ErrorResponder = (err: unknown, req: IncomingMessage, res: ServerResponse) => void

/**
 * Every error becomes a JSON body; 5xx are logged with their cause, never sent. A response that
 * has already started is cut off instead.
 */
export function errorResponder(logger: Logger): ErrorResponder {
  return function respondWithError(err, req, res) {
    if (res.headersSent) {
      res.destroy()
      return
    }
    const httpError = toOAuthError(err)
    if (httpError.expose) {
      logger.debug({ status: httpError.status, error: httpError.error, path: requestPath(req) }, 'request refused')
    } else {
      logger.error({ err: err instanceof OAuthError ? err.cause : err, path: requestPath(req) }, 'request failed')
    }
    sendError(res, httpError)
  }
}

/** The catch-all error handler of the Express app (see {@link errorResponder}). */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  const respond = errorResponder(logger)
  return function handleError(err, req, res, next) {
    if (res.headersSent) {
      next(err)
      return
    }
    respond(err, req, res)
  }
}

/**
 * Answers unknown routes with a JSON 404 that says the emulator does not emulate them (an EyePop
 * route it lacks, such as `POST /v1/deployments`, must not look like a missing resource).
 */
export const notFoundHandler: RequestHandler = function notFound(req, res) {
  // The path is not repeated: it may hold a key someone pasted into a URL.
  sendError(res, new NotFoundError(`the emulator does not emulate ${req.method} at this path (GET /openapi.json lists what it serves)`))
}
