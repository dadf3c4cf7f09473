/**
 * How many times a header was sent, from `req.rawHeaders` (`name` in lower case). Node keeps only
 * the first `Authorization` in `req.headers`; this finds the others without building
 * `req.headersDistinct` for every request.
 */
export function countHeader(rawHeaders: readonly string[], name: string): number {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const field = rawHeaders[i]!
    if (field.length === name.length && field.toLowerCase() === name) count++
  }
  return count
}
