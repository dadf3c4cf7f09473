import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy'
import { InvalidRequest } from './errors.js'
import type { BodyReader } from './json-body.js'

const UPLOAD_TYPES = /^(image\/|video\/|multipart\/form-data|application\/octet-stream)/i
const MULTIPART = /^multipart\/form-data/i

/** The most media items one upload may carry (an image group). */
export const MAX_UPLOAD_ITEMS = 64

/** What {@link readUpload} read. */
export interface UploadSummary {
  /** Bytes read. */
  bytes: number
  /**
   * How many media items it carried: 1 for a raw body, the number of `file` parts of a multipart
   * form (several make an image group, processed as one source).
   */
  items: number
}

/**
 * Reads (and discards) an upload of at most `limit` bytes, the way the mock Pop "processes" an image
 * or video: it must be an image, a video, a multipart form with at least one `file` part (and at
 * most {@link MAX_UPLOAD_ITEMS}), or raw bytes, and not empty. An oversized upload is answered at
 * once and the connection closed, so the rest is never read into memory. Multipart forms are read
 * with busboy as a stream; part contents are never kept.
 */
export function readUpload(limit: number): BodyReader<UploadSummary> {
  return (req, res) => new Promise((resolve, reject) => {
    const type = req.headers['content-type'] ?? ''
    if (!UPLOAD_TYPES.test(type)) {
      reject(new InvalidRequest('upload must be an image, a video or a multipart form (Content-Type)'))
      return
    }
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      res.setHeader('Connection', 'close')
      reject(new InvalidRequest(`upload is larger than ${limit} bytes`))
      return
    }
    let bytes = 0
    let items = MULTIPART.test(type) ? 0 : 1
    let settled = false
    let pending = MULTIPART.test(type) ? 2 : 1
    const settle = (err?: unknown) => {
      if (settled) return
      if (err === undefined && --pending > 0) return
      settled = true
      if (err === undefined) {
        if (bytes === 0) err = new InvalidRequest('upload must not be empty')
        else if (items === 0) err = new InvalidRequest('a multipart upload must have a part named "file"')
      }
      if (err === undefined) {
        resolve({ bytes, items })
        return
      }
      req.unpipe()
      reject(err)
    }
    if (MULTIPART.test(type)) {
      let form: BusboyInstance
      try {
        // Part contents are discarded: a field is cut at 1 KiB, files are drained.
        form = Busboy({ headers: req.headers as BusboyHeaders, limits: { fieldSize: 1024, parts: 1000, files: MAX_UPLOAD_ITEMS + 10 } })
      } catch {
        reject(new InvalidRequest('multipart upload must name its boundary (Content-Type)'))
        return
      }
      const countPart = (name: string) => {
        if (name !== 'file') return
        if (++items > MAX_UPLOAD_ITEMS) settle(new InvalidRequest(`an upload carries at most ${MAX_UPLOAD_ITEMS} files`))
      }
      form.on('file', (name, stream) => {
        countPart(name)
        // A part cut short fails the form and the part's stream at once: the form's error settles
        // the request; the part's, with nothing listening, would be thrown.
        stream.on('error', () => settle(new InvalidRequest('multipart upload is malformed')))
        stream.resume()
      })
      form.on('field', (name) => countPart(name))
      form.on('finish', () => settle())
      form.on('error', () => settle(new InvalidRequest('multipart upload is malformed')))
      req.pipe(form)
    }
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > limit && !settled) {
        res.setHeader('Connection', 'close')
        settle(new InvalidRequest(`upload is larger than ${limit} bytes`))
      }
    })
    req.on('end', () => settle())
    req.on('error', () => settle(new InvalidRequest('upload could not be read')))
  })
}
