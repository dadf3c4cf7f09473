import type { IncomingMessage, ServerResponse } from 'node:http'
import bodyParser from 'body-parser'
import typeis from 'type-is'
import { InvalidRequest } from './errors.js'

/** A body parser of body-parser's (plain `node:http`), which leaves what it read on `req.body`. */
type Parser = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void

/** Runs `parser` on `req` and settles with the body it read (its errors carry body-parser's `type`). */
function parse(parser: Parser, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  return new Promise((resolve, reject) => {
    parser(req, res, (err?: unknown) => {
      if (err) reject(err)
      else resolve((req as IncomingMessage & { body?: unknown }).body)
    })
  })
}

/** Reads a request body: the parsed value, or throws for the one error mapping. */
export type BodyReader<T> = (req: IncomingMessage, res: ServerResponse) => Promise<T>

/**
 * Reads a JSON object body of at most `limit` bytes. A missing or non-JSON content type, invalid
 * JSON, a non-object body or an oversized body is refused with 400 `invalid_request`.
 */
export function jsonObjectReader(limit: number): BodyReader<Record<string, unknown>> {
  const parser = bodyParser.json({ limit, strict: true })
  return async function readJsonObject(req, res) {
    if (!typeis(req, ['application/json'])) {
      throw new InvalidRequest('request body must be JSON (Content-Type: application/json)')
    }
    const body = await parse(parser, req, res)
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidRequest('request body must be a JSON object')
    }
    return body as Record<string, unknown>
  }
}

/**
 * Reads a form-encoded body (`application/x-www-form-urlencoded`) of at most `limit` bytes and
 * `parameterLimit` fields; another content type is refused with 400 `invalid_request`, unless
 * `optional` (a page's form): then a request that is not form-encoded (no body, another type)
 * reads as `{}`, its body unread.
 */
export function formReader(limit: number, parameterLimit: number, optional = false): BodyReader<Record<string, unknown>> {
  const parser = bodyParser.urlencoded({ extended: false, limit, parameterLimit })
  return async function readForm(req, res) {
    if (!typeis(req, ['application/x-www-form-urlencoded'])) {
      if (optional) return {}
      throw new InvalidRequest('request body must be form-encoded (application/x-www-form-urlencoded)')
    }
    return (await parse(parser, req, res)) as Record<string, unknown>
  }
}

/**
 * Reads a JSON object body of at most `limit` bytes when there is one, else `{}`: no body at all
 * (no content type, nothing in it, even chunked), or `Content-Length: 0` whatever the content
 * type (a client that always sets its headers). Bytes without a content type are refused as not
 * JSON, like any other body {@link jsonObjectReader} refuses.
 */
export function optionalJsonObjectReader(limit: number): BodyReader<Record<string, unknown>> {
  const readJson = jsonObjectReader(limit)
  const readRaw = rawReader(limit)
  return async function readOptionalJsonObject(req, res) {
    if (req.headers['content-length'] === '0') return {}
    if (req.headers['content-type'] !== undefined) return readJson(req, res)
    if ((await readRaw(req, res)).length > 0) {
      throw new InvalidRequest('request body must be JSON (Content-Type: application/json)')
    }
    return {}
  }
}

/** Reads any body of at most `limit` bytes, whatever its content type, as bytes. */
export function rawReader(limit: number): BodyReader<Buffer> {
  const parser = bodyParser.raw({ type: () => true, limit })
  return async function readRaw(req, res) {
    const body = await parse(parser, req, res)
    return Buffer.isBuffer(body) ? body : Buffer.alloc(0)
  }
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
