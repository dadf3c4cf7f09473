import type { IncomingMessage, ServerResponse } from 'node:http'
import express, { type RequestHandler } from 'express'
import typeis from 'type-is'
import { InvalidRequest } from './errors.js'

/**
 * Parses a JSON object body of at most `limit` bytes. A missing or non-JSON content type, invalid
 * JSON, a non-object body or an oversized body is refused with 400 `invalid_request`.
 */
export function jsonObjectBody(limit: number): RequestHandler[] {
  return [
    function requireJsonContentType(req, _res, next) {
      if (!typeis(req, ['application/json'])) {
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
 * {@link jsonObjectBody} for a plain `node:http` handler: the parsed object, or the same errors.
 */
export function jsonObjectReader(limit: number): (req: IncomingMessage, res: ServerResponse) => Promise<Record<string, unknown>> {
  const steps = jsonObjectBody(limit) as unknown as Array<
    (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void
  >
  return (req, res) =>
    new Promise((resolve, reject) => {
      let i = 0
      const next = (err?: unknown): void => {
        if (err) reject(err)
        else if (i < steps.length) steps[i++]!(req, res, next)
        else resolve((req as IncomingMessage & { body: Record<string, unknown> }).body)
      }
      next()
    })
}

/**
 * The declared body of a request that reads none must not be larger than `limit` bytes (so an
 * oversized upload is not silently accepted).
 *
 * @throws {InvalidRequest}
 */
export function checkDeclaredBody(req: IncomingMessage, limit: number): void {
  const length = Number(req.headers['content-length'] ?? 0)
  if (!Number.isFinite(length) || length > limit) throw new InvalidRequest('request body is too large')
}
