import type { IncomingMessage, ServerResponse } from 'node:http'
import send from 'send'

/**
 * Sends the file `name` of the folder `root` as `express.static` would (with `send`, which it is
 * built on): `Content-Type`, `ETag`, `Last-Modified`, ranges, `Cache-Control: public, max-age=0`
 * unless the route set one. A missing file, a dotfile or a path out of `root` rejects with its
 * 404 or 403, for the one error responder.
 *
 * @param name the file's path under `root`, %-decoded (a route's param)
 */
export function sendFile(req: IncomingMessage, res: ServerResponse, root: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    res.once('close', () => resolve())
    send(req, `/${encodeURIComponent(name)}`, { root, index: false }).on('error', reject).pipe(res)
  })
}
