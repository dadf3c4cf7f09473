import express, { type RequestHandler } from 'express'
import { InvalidRequest } from './errors.js'

/**
 * Parses a JSON object body of at most `limit` bytes. A missing or non-JSON content type, invalid
 * JSON, a non-object body or an oversized body is refused with 400 `invalid_request`.
 */
export function jsonObjectBody(limit: number): RequestHandler[] {
  return [
    function requireJsonContentType(req, _res, next) {
      if (!req.is('application/json')) {
        next(new InvalidRequest('request body must be JSON (Content-Type: application/json)'))
        return
      }
      next()
    },
    express.json({ limit, strict: true }),
    function requireJsonObject(req, _res, next) {
      const body: unknown = req.body
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        next(new InvalidRequest('request body must be a JSON object'))
        return
      }
      next()
    },
  ]
}

/**
 * Refuses a request whose declared body is larger than `limit` bytes, for routes that read no
 * body (so an oversized upload is not silently accepted).
 */
export function limitDeclaredBody(limit: number): RequestHandler {
  return function limitBody(req, _res, next) {
    const length = Number(req.headers['content-length'] ?? 0)
    if (!Number.isFinite(length) || length > limit) {
      next(new InvalidRequest('request body is too large'))
      return
    }
    next()
  }
}
