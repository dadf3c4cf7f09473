import type { IncomingMessage } from 'node:http'

/** The path of a request without its query (which may hold a pasted secret). */
export function requestPath(req: IncomingMessage): string {
  // Express rewrites `url` under a mounted router; `originalUrl` keeps the whole path.
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? ''
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
