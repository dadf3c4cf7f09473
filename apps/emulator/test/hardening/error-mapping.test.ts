/**
 * One mapping of errors to HTTP. Of auth-core errors: the emulator's error handler answers each one exactly
 * as auth-core's own middleware does (both use auth-core's httpAnswerOf), so a given error gets the
 * same status on every route, whether the route uses the middleware or calls verify() itself.
 */
import * as core from '@eyepop/auth-core'
import { describe, expect, it } from 'vitest'
import { toOAuthError } from '../../src/http/error-handler.js'
import { toErrorBody } from '../../src/http/to-error-body.js'
import { CredentialExpiring, InvalidInput, LimitExceeded, NotAllowed, ScopeNotAllowed, UnknownTarget } from '../../src/services/errors.js'

const errorClasses = Object.values(core.errors).filter(
  (value): value is typeof core.AuthCoreError => typeof value === 'function' && value.prototype instanceof core.AuthCoreError,
)

describe('the emulator maps every auth-core error as auth-core does', () => {
  it('has every error class to check', () => {
    expect(errorClasses.length).toBeGreaterThanOrEqual(15)
  })

  it.each(errorClasses.map((c) => [c.code, c] as const))('%s', (_code, ErrorClass) => {
    const err = new ErrorClass('a rule was broken') as core.AnyAuthCoreError
    const answer = core.httpAnswerOf(err)
    const httpError = toOAuthError(err)
    expect({ status: httpError.status, error: httpError.error, retryAfter: httpError.retryAfterSeconds, expose: httpError.expose }).toEqual({
      status: answer.status,
      error: answer.error,
      retryAfter: answer.retryAfterSeconds,
      expose: answer.expose,
    })
    const body = toErrorBody(httpError)
    if (answer.expose) expect(body).toEqual({ error: answer.error, error_description: answer.description, message: answer.description })
    else expect(body.error).toBe('server_error')
  })
})

describe('the emulator maps every domain error one way', () => {
  const domain = [
    [new InvalidInput('name must not be empty'), 400, 'invalid_request'],
    [new NotAllowed('a temporary key cannot mint other keys'), 403, 'access_denied'],
    [new LimitExceeded('this account has reached its limit of 20 api keys; delete one first'), 409, 'limit_exceeded'],
    [new ScopeNotAllowed('scope must not be empty'), 400, 'invalid_scope'],
    [new UnknownTarget('pop not found'), 400, 'invalid_target'],
    [new CredentialExpiring('the credential expires too soon to open a compute session'), 401, 'invalid_token'],
  ] as const

  it('has a case for every kind', () => {
    const kinds = new Set(domain.map(([err]) => err.kind))
    expect(kinds.size).toBe(domain.length)
  })

  it.each(domain.map(([err, status, error]) => [err.name, err, status, error] as const))('%s', (_name, err, status, error) => {
    const httpError = toOAuthError(err)
    expect({ status: httpError.status, error: httpError.error, expose: httpError.expose }).toEqual({ status, error, expose: true })
    expect(toErrorBody(httpError)).toEqual({ error, error_description: err.message, message: err.message })
    expect(httpError.cause).toBe(err)
  })
})

describe('toOAuthError of something thrown that is not an object', () => {
  it.each([null, undefined, 'a string', 42])('%s is a plain 500 without detail', (thrown) => {
    const httpError = toOAuthError(thrown)
    expect({ status: httpError.status, error: httpError.error, expose: httpError.expose }).toEqual({ status: 500, error: 'server_error', expose: false })
    expect(toErrorBody(httpError)).toEqual({ error: 'server_error', error_description: 'the server failed to handle the request', message: 'the server failed to handle the request' })
  })
})
