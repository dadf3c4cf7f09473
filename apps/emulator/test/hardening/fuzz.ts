/**
 * A seeded generator of malformed and adversarial requests over every route of the emulator, and
 * a runner that sends them over real HTTP and checks each answer: never a 5xx, never a hang, never
 * a credential echoed, a JSON error body on every 4xx an API answers. `fuzz.test.ts` runs a few
 * thousand in `npm test`; `npm run fuzz` runs a long one (`FUZZ_REQUESTS`, `FUZZ_SEED`).
 */
import { request as httpRequest } from 'node:http'

/** A deterministic PRNG (mulberry32): the same seed gives the same requests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The credentials and ids of a seeded emulator, some of them valid. */
export interface FuzzFixture {
  apiKey: string
  accessToken: string
  temporaryKey: string
  popId: string
  pipelineId: string
  sessionUuid: string
  keyId: string
}

/** One request to send: raw header pairs (so a header may repeat) and a body. */
export interface FuzzRequest {
  method: string
  path: string
  headers: Array<[string, string]>
  body?: Buffer
  /** Leaves out the Host header (HTTP/1.1 requires it). */
  noHost?: boolean
}

const PATHS = [
  '/authentication/token',
  '/v1/auth/authenticate',
  '/v1/auth/client-sessions',
  '/v1/auth/revocations',
  '/token',
  '/token/revocation',
  '/token/introspection',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  '/jwks',
  '/auth',
  '/device/auth',
  '/device',
  '/session/end',
  '/interaction/{any}',
  '/interaction/{any}/login',
  '/interaction/{any}/abort',
  '/pops/{pop}/config',
  '/workers/config',
  '/worker/health',
  '/worker/events',
  '/worker/pipelines',
  '/worker/pipelines/{pipeline}',
  '/worker/pipelines/{pipeline}/source',
  '/worker/pipelines/{pipeline}/prepareSource',
  '/worker/pipelines/{pipeline}/pop',
  '/v1/sessions',
  '/v1/sessions/{session}',
  '/v1/configs',
  '/configs',
  '/events',
  '/data/config',
  '/data/security/check',
  '/data/events',
  '/dashboard',
  '/dashboard/login',
  '/dashboard/callback',
  '/dashboard/logout',
  '/dashboard/keys',
  '/api/v1/session',
  '/api/v1/keys',
  '/api/v1/keys/{key}',
  '/api/v1/pops',
  '/api/v1/pops/{pop}',
  '/api/v1/audit',
  '/openapi.json',
  '/healthz',
  '/static/login.css',
  '/nope',
  // Request targets that are not valid URL paths (a parser given them throws).
  '//',
  '//[',
  '/\\',
]

const METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS', 'HEAD']

const NASTY_STRINGS = [
  '',
  ' ',
  '%',
  '%00',
  '%ZZ',
  '..%2F..%2Fetc%2Fpasswd',
  '../../etc/passwd',
  '\u0000',
  'null',
  'undefined',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '💥',
  'a'.repeat(300),
  'a'.repeat(5000),
  '-1',
  '1e309',
  'NaN',
  'true',
  '0000000000000000000000000000000000',
  '00000000-0000-4000-8000-000000000000',
]

/** Builds the request generator for a fixture. */
export function requestGenerator(random: () => number, fixture: FuzzFixture): () => FuzzRequest {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const chance = (p: number) => random() < p
  const int = (n: number) => Math.floor(random() * n)

  const nasty = () => pick(NASTY_STRINGS)
  // Either properly escaped, or with only the bytes HTTP cannot carry escaped (so `%ZZ` and `..` get through).
  const raw = (s: string) => [...Buffer.from(s)].map((b) => (b > 0x20 && b < 0x7f ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('')
  const enc = (s: string) => (chance(0.5) ? encodeURIComponent(s) : raw(s))

  function id(kind: 'pop' | 'pipeline' | 'session' | 'key' | 'any'): string {
    const valid = { pop: fixture.popId, pipeline: fixture.pipelineId, session: fixture.sessionUuid, key: fixture.keyId, any: 'abc' }[kind]
    return chance(0.4) ? valid : enc(nasty())
  }

  function path(): string {
    let p = pick(PATHS)
      .replace('{pop}', () => id('pop'))
      .replace('{pipeline}', () => id('pipeline'))
      .replace('{session}', () => id('session'))
      .replace('{key}', () => id('key'))
      .replace('{any}', () => id('any'))
    if (chance(0.1)) p = p.toUpperCase()
    if (chance(0.1)) p += '/'
    if (chance(0.05)) p = p.replace(/\//g, '//')
    if (chance(0.5)) {
      const params = Array.from({ length: 1 + int(4) }, () => {
        const name = pick(['cursor', 'account_uuid', 'wait', 'transient', 'timeout', 'sourceId', 'mode', 'auto_start', 'limit', 'before', 'keyId', 'client_id', 'response_type', 'redirect_uri', 'code', 'state', nasty()])
        const value = chance(0.3) ? pick(['0', '1', 'true', 'True', '10s', 'queue', fixture.keyId, '-5']) : nasty()
        return `${enc(name)}=${enc(value)}`
      })
      p += `?${params.join('&')}`
    }
    return p
  }

  function authorization(): Array<[string, string]> {
    if (chance(0.15)) return []
    const credential = pick([fixture.apiKey, fixture.accessToken, fixture.temporaryKey, 'eyp_' + 'A'.repeat(50), 'not.a.token', `${fixture.accessToken}==`, nasty()])
    const value = pick([`Bearer ${credential}`, `bearer ${credential}`, `Basic ${Buffer.from('a:b').toString('base64')}`, credential, 'Bearer', 'Bearer  ', `Bearer ${credential} extra`])
    const headers: Array<[string, string]> = [['Authorization', value]]
    if (chance(0.05)) headers.push(['Authorization', `Bearer ${fixture.accessToken}`])
    return headers
  }

  function body(): { type?: string; data?: Buffer } {
    switch (int(10)) {
      case 0:
        return {}
      case 1:
        return { type: 'application/json', data: Buffer.from(JSON.stringify(randomJson(3))) }
      case 2:
        return { type: 'application/json', data: Buffer.from(pick(['{', '[1,2', '"x"', 'null', '1', '{"a":}', '\u0000', '{"secret_key":' + JSON.stringify(fixture.apiKey) + '}'])) }
      case 3: {
        const fields = Object.fromEntries(
          Array.from({ length: 1 + int(6) }, () => [
            pick(['grant_type', 'client_id', 'subject_token', 'subject_token_type', 'token', 'scope', 'resource', 'allowed_origins', 'requested_token_type', 'requested_expires_in', 'email', 'password', 'code', nasty()]),
            chance(0.3) ? pick([fixture.apiKey, fixture.accessToken, 'urn:ietf:params:oauth:grant-type:token-exchange', 'eyepop-sdk', `urn:eyepop:pop:${fixture.popId}`]) : nasty(),
          ]),
        )
        return { type: 'application/x-www-form-urlencoded', data: Buffer.from(new URLSearchParams(fields).toString()) }
      }
      case 4:
        return { type: pick(['image/png', 'video/mp4', 'application/octet-stream']), data: Buffer.alloc(int(2048), int(256)) }
      case 5: {
        const boundary = chance(0.7) ? 'fuzzboundary' : ''
        const parts = Array.from({ length: int(4) }, () => {
          const file = chance(0.5) ? `; filename="${pick(['a.jpg', nasty()])}"\r\nContent-Type: image/jpeg` : ''
          return `--fuzzboundary\r\nContent-Disposition: form-data; name="${pick(['file', 'params', 'roi', nasty()])}"${file}\r\n\r\n${nasty()}\r\n`
        })
        // Without its end, or cut in the middle of a part.
        const end = chance(0.6) ? '--fuzzboundary--\r\n' : chance(0.5) ? '' : '--fuzzboundary\r\nContent-Disposition: form-data; name="file"; filename="cut.jpg"\r\n\r\nabc'
        return { type: boundary ? `multipart/form-data; boundary=${boundary}` : 'multipart/form-data', data: Buffer.from(parts.join('') + end) }
      }
      case 6:
        return { type: pick(['text/plain', 'application/xml', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded; charset=koi8-r', nasty()]), data: Buffer.from(nasty()) }
      case 7:
        // Larger than every body limit but the upload's.
        return { type: 'application/json', data: Buffer.from(`{"pad":"${'x'.repeat(70 * 1024)}"}`) }
      case 8:
        return { type: 'application/json', data: Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`) }
      default:
        return { type: 'application/json', data: Buffer.from(JSON.stringify({ pop_id: fixture.popId, sourceType: pick(['URL', 'GROUP', 'NONE', 'WHIP', 'ASSET_UUID', nasty()]), url: pick(['https://x.invalid/a.jpg', nasty()]), sources: chance(0.5) ? [{ sourceType: 'URL', url: nasty() }] : nasty(), pop: chance(0.5) ? { components: [] } : nasty(), allowed_origins: chance(0.5) ? [] : [nasty()], ttl_seconds: pick([1, 0, -1, 1e9, 'x']), name: nasty(), expires: pick(['7d', 'never', nasty()]) })) }
    }
  }

  function randomJson(depth: number): unknown {
    if (depth === 0 || chance(0.3)) return pick([nasty(), int(1e6), null, true, -1.5])
    if (chance(0.5)) return Array.from({ length: int(4) }, () => randomJson(depth - 1))
    return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['name', 'expires', 'pop_id', 'secret_key', 'pop', 'source', 'scope', nasty()]), randomJson(depth - 1)]))
  }

  return () => {
    const method = pick(METHODS)
    const headers = authorization()
    const { type, data } = method === 'GET' || method === 'HEAD' ? (chance(0.1) ? body() : {}) : body()
    if (type !== undefined) headers.push(['Content-Type', type])
    if (chance(0.15)) headers.push(['Origin', pick(['http://localhost:3000', 'https://evil.example', 'null', nasty()])])
    if (method === 'OPTIONS' && chance(0.5)) headers.push(['Access-Control-Request-Method', pick(['GET', 'POST', 'DELETE'])])
    if (chance(0.05)) headers.push(['Cookie', `${pick(['eyepop_dashboard', '_session', '_interaction', nasty()])}=${enc(nasty())}`])
    if (chance(0.05)) headers.push(['X-CSRF-Token', nasty()])
    if (chance(0.05)) headers.push(['Accept', pick(['text/html', 'application/json', '*/*', nasty()])])
    // A WebSocket handshake, on any target.
    if (method === 'GET' && chance(0.1)) {
      headers.push(['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='])
    }
    return { method, path: path(), headers, ...(data !== undefined && { body: data }), ...(chance(0.02) && { noHost: true }) }
  }
}

/** What the server answered. */
export interface FuzzAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Sends one request; rejects when no answer comes within `timeoutMs` (a hang). */
export function send(base: URL, req: FuzzRequest, timeoutMs = 10_000): Promise<FuzzAnswer> {
  return new Promise((resolve, reject) => {
    const headers: string[] = []
    if (!req.noHost) headers.push('Host', base.host)
    for (const [name, value] of req.headers) headers.push(name, value.replace(/[\r\n]/g, ' '))
    if (req.body) headers.push('Content-Length', String(req.body.length))
    let client: ReturnType<typeof httpRequest>
    try {
      client = httpRequest({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent: false, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = []
        const answered = () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() })
        // A stream the server holds open on purpose (a prepared source waits for its upload) has
        // answered once its head has come: read it for a moment, then hang up.
        const streaming = setTimeout(() => {
          answered()
          client.destroy()
        }, 1000)
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('end', () => {
          clearTimeout(streaming)
          answered()
        })
        res.on('error', () => undefined)
      })
    } catch (err) {
      // Node itself refuses to send some header values or paths: nothing reached the server.
      resolve({ status: 0, headers: {}, body: String((err as Error).message) })
      return
    }
    // An upgrade the server accepted (101): that is an answer; the socket is not used.
    client.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode ?? 101, headers: res.headers, body: '' })
    })
    client.on('timeout', () => client.destroy(new Error(`no answer within ${timeoutMs} ms: ${req.method} ${req.path.slice(0, 200)}`)))
    client.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close a connection it refused (an oversized upload): that is an answer.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve({ status: -1, headers: {}, body: '' })
      else reject(err)
    })
    client.end(req.body)
  })
}

/** The problems with one answer, if any. */
export function problemsWith(req: FuzzRequest, answer: FuzzAnswer, secrets: readonly string[]): string[] {
  const problems: string[] = []
  if (answer.status >= 500) problems.push(`answered ${answer.status}`)
  for (const secret of secrets) {
    if (answer.body.includes(secret)) problems.push('echoed a credential it was sent')
  }
  const type = String(answer.headers['content-type'] ?? '')
  const isApi = !/^\/(dashboard|interaction|device|session|auth|static)\b/i.test(req.path)
  if (answer.status >= 400 && answer.status < 500 && req.method !== 'HEAD' && isApi) {
    if (!type.startsWith('application/json')) problems.push(`a ${answer.status} without a JSON body (${type || 'no content type'})`)
    else {
      try {
        const body = JSON.parse(answer.body) as { error?: unknown }
        if (typeof body.error !== 'string') problems.push(`a ${answer.status} whose body has no "error"`)
      } catch {
        problems.push(`a ${answer.status} whose body is not JSON`)
      }
    }
  }
  if (/\bat [\w.<>]+ \(|node_modules\//.test(answer.body)) problems.push('a stack trace in the body')
  return problems
}
