import type { IncomingMessage } from 'node:http'
import { parse, type ParsedUrlQuery } from 'node:querystring'

/**
 * The query of a request, parsed as Express's default ("simple") query parser does: a repeated
 * name gives an array, so a route that wants one value checks `typeof value === 'string'`.
 */
export function queryOf(req: IncomingMessage): ParsedUrlQuery {
  const url = req.url ?? ''
  const start = url.indexOf('?')
  return start === -1 ? {} : parse(url.slice(start + 1))
}
