/**
 * One mapping of auth-core errors to HTTP: the emulator's error handler answers each one exactly
 * as auth-core's own middleware does (both use auth-core's httpAnswerOf), so a given error gets the
 * same status on every route, whether the route uses the middleware or calls verify() itself.
 */
import * as core from '@eyepop/auth-core'
import { describe, expect, it } from 'vitest'
import { toOAuthError } from '../../src/http/error-handler.js'
import { toErrorBody } from '../../src/http/to-error-body.js'

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
