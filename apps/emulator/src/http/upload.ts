import type { Request, RequestHandler } from 'express'
import { InvalidRequest } from './errors.js'

const UPLOAD_TYPES = /^(image\/|video\/|multipart\/form-data|application\/octet-stream)/i

/**
 * Reads (and discards) an upload of at most `limit` bytes, the way the mock Pop "processes" an image
 * or video: it must be an image, a video, a multipart form or raw bytes, and not empty. The byte
 * count is left on `res.locals.uploadBytes`. An oversized upload is answered at once and the
 * connection closed, so the rest is never read into memory.
 */
export function readUpload(limit: number): RequestHandler {
  return function readUploadBody(req: Request, res, next) {
    const type = req.headers['content-type'] ?? ''
    if (!UPLOAD_TYPES.test(type)) {
      next(new InvalidRequest('upload must be an image, a video or a multipart form (Content-Type)'))
      return
    }
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      res.setHeader('Connection', 'close')
      next(new InvalidRequest(`upload is larger than ${limit} bytes`))
      return
    }
    let bytes = 0
    let settled = false
    const settle = (err?: unknown) => {
      if (settled) return
      settled = true
      if (err === undefined) res.locals.uploadBytes = bytes
      next(err)
    }
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > limit && !settled) {
        res.setHeader('Connection', 'close')
        settle(new InvalidRequest(`upload is larger than ${limit} bytes`))
      }
    })
    req.on('end', () => settle(bytes === 0 ? new InvalidRequest('upload must not be empty') : undefined))
    req.on('error', () => settle(new InvalidRequest('upload could not be read')))
  }
}
