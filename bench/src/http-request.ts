/**
 * A small HTTP client over `node:http` for the harness's own requests (minting tokens, probes,
 * start-up checks). `fetch` is not used: it loads undici lazily, which would add tens of
 * milliseconds to the first start-up measurement.
 *
 * @module
 */
import { request, type Agent } from 'node:http'

/** An answer: status and body text. */
export interface HttpAnswer {
  status: number
  body: string
}

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  method?: string
  headers?: Record<string, string>
  body?: string
  /** A keep-alive agent for repeated requests. Default: a new connection. */
  agent?: Agent
  /** Timeout (in milliseconds). Default is 10000. */
  timeoutMs?: number
}

/** Sends one request and reads the whole answer. */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body))
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        ...(options.agent && { agent: options.agent }),
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)))
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Like {@link httpRequest}, but fails unless the status is 200, and parses the JSON body. */
export async function httpJson<T>(url: string, options: HttpRequestOptions = {}): Promise<T> {
  const answer = await httpRequest(url, options)
  if (answer.status !== 200) {
    throw new Error(`${options.method ?? 'GET'} ${url} answered ${answer.status}: ${answer.body.slice(0, 300)}`)
  }
  return JSON.parse(answer.body) as T
}
