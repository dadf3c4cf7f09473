/**
 * Tests of the token client against a fake `fetch` and a fake clock: no network, and real timers
 * only for the request timeout.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { generateApiKey } from '../../src/api-key/create.js'
import { createTokenClient, type TokenClientOptions } from '../../src/client/token-client.js'

const EYEPOP_URL = 'https://eyepop.test'
const AUTHENTICATE_URL = `${EYEPOP_URL}/v1/auth/authenticate`
const RESOURCE_URL = `${EYEPOP_URL}/v1/sessions`

let apiKey: string
let now: number

beforeEach(() => {
  apiKey = generateApiKey()
  now = Date.UTC(2025, 0, 1)
})

type Fetch = typeof globalThis.fetch

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

function tokenBody(accessToken: string, expiresIn = 3600): Record<string, unknown> {
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: expiresIn,
    expires_at: new Date(now + expiresIn * 1000).toISOString(),
  }
}

/** A token endpoint that answers `tok-1`, `tok-2`, … */
function tokenEndpoint(expiresIn = 3600) {
  let issued = 0
  return vi.fn<Fetch>(async () => json(tokenBody(`tok-${++issued}`, expiresIn)))
}

function createClient(fetch: Fetch, options: Partial<TokenClientOptions> = {}) {
  return createTokenClient({ eyepopUrl: EYEPOP_URL, apiKey, fetch, now: () => now, ...options })
}

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((res) => {
    resolve = res
  })
  return { promise, resolve }
}

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected the function to throw')
}

/** The first call's `[url, init]`. */
function firstCall(fetch: ReturnType<typeof vi.fn<Fetch>>): [string, RequestInit] {
  const [input, init] = fetch.mock.calls[0] ?? []
  return [String(input), init ?? {}]
}

describe('createTokenClient', () => {
  describe('with protocol "v1" (the default)', () => {
    it('POSTs /v1/auth/authenticate with the API key as bearer and no body', async () => {
      const fetch = tokenEndpoint()
      await createClient(fetch).getAccessToken()

      expect(fetch).toHaveBeenCalledTimes(1)
      const [url, init] = firstCall(fetch)
      expect(url).toBe(AUTHENTICATE_URL)
      expect(init.method).toBe('POST')
      expect(init.headers).toEqual({
        accept: 'application/json',
        authorization: `Bearer ${apiKey}`,
      })
      expect(init.body).toBeUndefined()
      expect(init.redirect).toBe('manual')
      expect(init.signal).toBeInstanceOf(AbortSignal)
    })

    it('ignores trailing slashes of eyepopUrl and keeps its path', async () => {
      const fetch = tokenEndpoint()
      await createClient(fetch, { eyepopUrl: `${EYEPOP_URL}/emulator//` }).getAccessToken()

      expect(firstCall(fetch)[0]).toBe(`${EYEPOP_URL}/emulator/v1/auth/authenticate`)
    })

    it('returns the token, its type and its expiry', async () => {
      const client = createClient(tokenEndpoint())

      await expect(client.getToken()).resolves.toEqual({
        accessToken: 'tok-1',
        tokenType: 'Bearer',
        expiresAt: now + 3_600_000,
      })
      await expect(client.getAccessToken()).resolves.toBe('tok-1')
      await expect(client.authorizationHeader()).resolves.toBe('Bearer tok-1')
    })

    it('accepts a lowercase or missing token_type', async () => {
      const fetch = vi
        .fn<Fetch>()
        .mockResolvedValueOnce(json({ access_token: 'a', token_type: 'bearer', expires_in: 1 }))
        .mockResolvedValueOnce(json({ access_token: 'b', expires_in: 1 }))
      const client = createClient(fetch)

      await expect(client.getToken()).resolves.toMatchObject({
        accessToken: 'a',
        tokenType: 'Bearer',
      })
      now += 1000
      await expect(client.getToken()).resolves.toMatchObject({
        accessToken: 'b',
        tokenType: 'Bearer',
      })
    })
  })

  describe('with protocol "legacy"', () => {
    it('POSTs /authentication/token with the API key as a JSON secret_key', async () => {
      const fetch = tokenEndpoint()
      await createClient(fetch, { protocol: 'legacy' }).getAccessToken()

      const [url, init] = firstCall(fetch)
      expect(url).toBe(`${EYEPOP_URL}/authentication/token`)
      expect(init.method).toBe('POST')
      expect(init.headers).toEqual({
        accept: 'application/json',
        'content-type': 'application/json',
      })
      expect(JSON.parse(init.body as string)).toEqual({ secret_key: apiKey })
    })
  })

  describe('with protocol "oauth"', () => {
    it('POSTs an RFC 8693 token exchange form to /token', async () => {
      const fetch = tokenEndpoint()
      await createClient(fetch, { protocol: 'oauth' }).getAccessToken()

      const [url, init] = firstCall(fetch)
      expect(url).toBe(`${EYEPOP_URL}/token`)
      expect(init.method).toBe('POST')
      expect(init.headers).toEqual({
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
      })
      expect(Object.fromEntries(new URLSearchParams(init.body as string))).toEqual({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        client_id: 'eyepop-sdk',
        subject_token: apiKey,
        subject_token_type: 'urn:eyepop:params:oauth:token-type:api-key',
      })
    })

    it('sends clientId, scope and resource to tokenEndpoint', async () => {
      const fetch = tokenEndpoint()
      await createClient(fetch, {
        protocol: 'oauth',
        tokenEndpoint: 'https://auth.eyepop.test/oauth/token',
        clientId: 'my-server',
        scope: 'access:inference-api access:datasets',
        resource: 'https://compute.eyepop.test',
      }).getAccessToken()

      const [url, init] = firstCall(fetch)
      expect(url).toBe('https://auth.eyepop.test/oauth/token')
      expect(Object.fromEntries(new URLSearchParams(init.body as string))).toMatchObject({
        client_id: 'my-server',
        scope: 'access:inference-api access:datasets',
        resource: 'https://compute.eyepop.test',
      })
    })
  })

  describe('caching', () => {
    it('makes no request while the token is fresh', async () => {
      const fetch = tokenEndpoint()
      const client = createClient(fetch)

      await expect(client.getAccessToken()).resolves.toBe('tok-1')
      now += 60_000
      await expect(client.getAccessToken()).resolves.toBe('tok-1')
      expect(fetch).toHaveBeenCalledTimes(1)
    })

    it('refreshes once the clock reaches the expiry less the margin', async () => {
      const fetch = tokenEndpoint(3600)
      const client = createClient(fetch)
      const issuedAt = now

      await client.getAccessToken()
      now = issuedAt + (3600 - 60) * 1000 - 1
      expect(client.fresh).toBe(true)
      await expect(client.getAccessToken()).resolves.toBe('tok-1')

      now += 1
      expect(client.fresh).toBe(false)
      await expect(client.getAccessToken()).resolves.toBe('tok-2')
      expect(fetch).toHaveBeenCalledTimes(2)
    })

    it('reuses a token shorter than the margin for half its lifetime', async () => {
      const fetch = tokenEndpoint(30)
      const client = createClient(fetch)
      const issuedAt = now

      await client.getAccessToken()
      now = issuedAt + 15_000 - 1
      await expect(client.getAccessToken()).resolves.toBe('tok-1')
      now += 1
      await expect(client.getAccessToken()).resolves.toBe('tok-2')
    })

    it('honours refreshMarginSeconds', async () => {
      const fetch = tokenEndpoint(3600)
      const client = createClient(fetch, { refreshMarginSeconds: 0 })
      const issuedAt = now

      await client.getAccessToken()
      now = issuedAt + 3_600_000 - 1
      await expect(client.getAccessToken()).resolves.toBe('tok-1')
      now += 1
      await expect(client.getAccessToken()).resolves.toBe('tok-2')
    })

    it('reports fresh and refreshing', async () => {
      const answer = deferred<Response>()
      const client = createClient(vi.fn<Fetch>(() => answer.promise))
      expect(client).toMatchObject({ fresh: false, refreshing: false })

      const token = client.getAccessToken()
      expect(client).toMatchObject({ fresh: false, refreshing: true })
      answer.resolve(json(tokenBody('tok-1')))
      await token
      expect(client).toMatchObject({ fresh: true, refreshing: false })

      client.invalidate()
      expect(client).toMatchObject({ fresh: false, refreshing: false })
    })
  })

  describe('single flight', () => {
    it('shares one token request among 100 concurrent callers', async () => {
      const answer = deferred<Response>()
      const fetch = vi.fn<Fetch>(() => answer.promise)
      const client = createClient(fetch)

      const tokens = Promise.all(Array.from({ length: 100 }, () => client.getAccessToken()))
      answer.resolve(json(tokenBody('tok-1')))

      const results = await tokens
      expect(fetch).toHaveBeenCalledTimes(1)
      expect(new Set(results)).toEqual(new Set(['tok-1']))
    })

    it('rejects every waiter when the refresh fails, and the next call tries again', async () => {
      const fetch = vi
        .fn<Fetch>()
        .mockResolvedValueOnce(json({ error: 'temporarily_unavailable' }, 503))
        .mockResolvedValueOnce(json(tokenBody('tok-2')))
      const client = createClient(fetch)

      const results = await Promise.allSettled(
        Array.from({ length: 100 }, () => client.getAccessToken()),
      )
      expect(fetch).toHaveBeenCalledTimes(1)
      for (const result of results) {
        expect(result).toMatchObject({
          status: 'rejected',
          reason: { code: 'ERR_TOKEN_REQUEST_FAILED', status: 503 },
        })
      }
      expect(client.refreshing).toBe(false)

      await expect(client.getAccessToken()).resolves.toBe('tok-2')
      expect(fetch).toHaveBeenCalledTimes(2)
    })
  })

  describe('sequence guard', () => {
    it('never caches the answer to a request started before invalidate()', async () => {
      const older = deferred<Response>()
      const newer = deferred<Response>()
      const fetch = vi
        .fn<Fetch>()
        .mockReturnValueOnce(older.promise)
        .mockReturnValueOnce(newer.promise)
      const client = createClient(fetch)

      const first = client.getAccessToken()
      client.invalidate()
      const second = client.getAccessToken()
      expect(fetch).toHaveBeenCalledTimes(2)

      // the older answer arrives first: its callers get it, but it is not cached
      older.resolve(json(tokenBody('tok-old')))
      await expect(first).resolves.toBe('tok-old')
      expect(client).toMatchObject({ fresh: false, refreshing: true })

      newer.resolve(json(tokenBody('tok-new')))
      await expect(second).resolves.toBe('tok-new')
      await expect(client.getAccessToken()).resolves.toBe('tok-new')
      expect(fetch).toHaveBeenCalledTimes(2)
    })

    it('does not let an older answer overwrite a newer one', async () => {
      const older = deferred<Response>()
      const newer = deferred<Response>()
      const fetch = vi
        .fn<Fetch>()
        .mockReturnValueOnce(older.promise)
        .mockReturnValueOnce(newer.promise)
      const client = createClient(fetch)

      const first = client.getAccessToken()
      client.invalidate()
      const second = client.getAccessToken()

      newer.resolve(json(tokenBody('tok-new')))
      await expect(second).resolves.toBe('tok-new')
      older.resolve(json(tokenBody('tok-old')))
      await expect(first).resolves.toBe('tok-old')

      await expect(client.getAccessToken()).resolves.toBe('tok-new')
      expect(client.refreshing).toBe(false)
      expect(fetch).toHaveBeenCalledTimes(2)
    })

    it('invalidate(staleToken) does not drop a newer token', async () => {
      const fetch = tokenEndpoint()
      const client = createClient(fetch)

      const stale = await client.getAccessToken()
      client.invalidate()
      await expect(client.getAccessToken()).resolves.toBe('tok-2')

      client.invalidate(stale)
      await expect(client.getAccessToken()).resolves.toBe('tok-2')
      expect(fetch).toHaveBeenCalledTimes(2)

      client.invalidate('tok-2')
      await expect(client.getAccessToken()).resolves.toBe('tok-3')
    })

    it('invalidate(token) keeps a refresh that is under way', async () => {
      const refreshed = deferred<Response>()
      const fetch = vi
        .fn<Fetch>()
        .mockResolvedValueOnce(json(tokenBody('tok-1')))
        .mockReturnValueOnce(refreshed.promise)
      const client = createClient(fetch)

      await client.getAccessToken()
      now += 3600_000
      const next = client.getAccessToken()
      client.invalidate('tok-1')
      expect(client.refreshing).toBe(true)

      refreshed.resolve(json(tokenBody('tok-2')))
      await expect(next).resolves.toBe('tok-2')
      await expect(client.getAccessToken()).resolves.toBe('tok-2')
      expect(fetch).toHaveBeenCalledTimes(2)
    })
  })

  describe('fetch()', () => {
    /** A token endpoint and a resource that answers with `statuses` in turn. */
    function server(...statuses: number[]) {
      let issued = 0
      let served = 0
      return vi.fn<Fetch>(async (input) => {
        if (String(input) === AUTHENTICATE_URL) return json(tokenBody(`tok-${++issued}`))
        const status = statuses[Math.min(served++, statuses.length - 1)] ?? 200
        return new Response(status === 401 ? null : 'ok', { status })
      })
    }

    function resourceCalls(fetch: ReturnType<typeof server>) {
      return fetch.mock.calls
        .filter(([input]) => String(input) === RESOURCE_URL)
        .map(([, init]) => init ?? {})
    }

    function tokenCalls(fetch: ReturnType<typeof server>) {
      return fetch.mock.calls.filter(([input]) => String(input) === AUTHENTICATE_URL)
    }

    it('calls the resource with the bearer and keeps the rest of init', async () => {
      const fetch = server(200)
      const client = createClient(fetch)

      const response = await client.fetch(RESOURCE_URL, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: 'Basic nope' },
        body: 'hello',
      })

      expect(response.status).toBe(200)
      const [init] = resourceCalls(fetch)
      expect(init).toMatchObject({ method: 'POST', body: 'hello' })
      const headers = new Headers(init?.headers)
      expect(headers.get('authorization')).toBe('Bearer tok-1')
      expect(headers.get('content-type')).toBe('text/plain')
    })

    it('on a 401 gets a new token and retries once', async () => {
      const fetch = server(401, 200)
      const client = createClient(fetch)

      const response = await client.fetch(RESOURCE_URL, { method: 'PUT', body: 'hello' })

      expect(response.status).toBe(200)
      expect(tokenCalls(fetch)).toHaveLength(2)
      const calls = resourceCalls(fetch)
      expect(calls.map((init) => new Headers(init.headers).get('authorization'))).toEqual([
        'Bearer tok-1',
        'Bearer tok-2',
      ])
      expect(calls.map((init) => init.body)).toEqual(['hello', 'hello'])
    })

    it('gives up after the second 401 and returns it', async () => {
      const fetch = server(401)
      const client = createClient(fetch)

      const response = await client.fetch(new URL(RESOURCE_URL))

      expect(response.status).toBe(401)
      expect(resourceCalls(fetch)).toHaveLength(2)
      expect(tokenCalls(fetch)).toHaveLength(2)
    })

    it('does not retry a streaming body', async () => {
      const fetch = server(401, 200)
      const client = createClient(fetch)
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('hello'))
          controller.close()
        },
      })

      const response = await client.fetch(RESOURCE_URL, { method: 'POST', body })

      expect(response.status).toBe(401)
      expect(resourceCalls(fetch)).toHaveLength(1)
      expect(tokenCalls(fetch)).toHaveLength(1)
    })

    it('returns other statuses without a retry', async () => {
      const fetch = server(403)
      const client = createClient(fetch)

      await expect(client.fetch(RESOURCE_URL)).resolves.toMatchObject({ status: 403 })
      expect(resourceCalls(fetch)).toHaveLength(1)
    })

    it('rejects when no new token can be obtained after a 401', async () => {
      const fetch = vi
        .fn<Fetch>()
        .mockResolvedValueOnce(json(tokenBody('tok-1')))
        .mockResolvedValueOnce(new Response(null, { status: 401 }))
        .mockResolvedValueOnce(json({ error: 'invalid_client' }, 401))
      const client = createClient(fetch)

      await expect(client.fetch(RESOURCE_URL)).rejects.toMatchObject({
        code: 'ERR_TOKEN_REQUEST_FAILED',
        status: 401,
        error: 'invalid_client',
      })
    })
  })

  describe('errors', () => {
    it('maps an OAuth error answer to TokenRequestFailed with its status and code', async () => {
      const fetch = vi.fn<Fetch>(async () =>
        json({ error: 'invalid_client', error_description: 'api key is unknown' }, 401),
      )

      await expect(createClient(fetch).getAccessToken()).rejects.toMatchObject({
        name: 'TokenRequestFailed',
        code: 'ERR_TOKEN_REQUEST_FAILED',
        status: 401,
        error: 'invalid_client',
        message: 'token request failed with status 401 (invalid_client): api key is unknown',
      })
    })

    it('reports only the status of an answer that is not an OAuth error', async () => {
      const fetch = vi.fn<Fetch>(async () => new Response('<h1>Bad Gateway</h1>', { status: 502 }))

      await expect(createClient(fetch).getAccessToken()).rejects.toMatchObject({
        code: 'ERR_TOKEN_REQUEST_FAILED',
        status: 502,
        error: undefined,
        message: 'token request failed with status 502',
      })
    })

    it('caps the quoted error_description at 200 characters', async () => {
      const fetch = vi.fn<Fetch>(async () =>
        json({ error: 'invalid_request', error_description: 'x'.repeat(1000) }, 400),
      )

      const err = await createClient(fetch).getAccessToken().catch((e: unknown) => e)
      expect(err).toMatchObject({
        code: 'ERR_TOKEN_REQUEST_FAILED',
        message: `token request failed with status 400 (invalid_request): ${'x'.repeat(200)}`,
      })
    })

    it('treats any status other than 200 as a failure', async () => {
      const fetch = vi.fn<Fetch>(async () => json(tokenBody('tok-1'), 201))

      await expect(createClient(fetch).getAccessToken()).rejects.toMatchObject({
        code: 'ERR_TOKEN_REQUEST_FAILED',
        status: 201,
      })
    })

    it.each([
      ['a body that is not JSON', 'not json'],
      ['a JSON array', []],
      ['no access_token', { token_type: 'Bearer', expires_in: 3600 }],
      ['an empty access_token', { access_token: '', token_type: 'Bearer', expires_in: 3600 }],
      ['a numeric access_token', { access_token: 42, token_type: 'Bearer', expires_in: 3600 }],
      ['no expires_in', { access_token: 'tok', token_type: 'Bearer' }],
      ['a zero expires_in', { access_token: 'tok', token_type: 'Bearer', expires_in: 0 }],
      ['a negative expires_in', { access_token: 'tok', token_type: 'Bearer', expires_in: -1 }],
      ['a string expires_in', { access_token: 'tok', token_type: 'Bearer', expires_in: '3600' }],
      ['a DPoP token_type', { access_token: 'tok', token_type: 'DPoP', expires_in: 3600 }],
    ])('rejects a 200 answer with %s as malformed', async (_, body) => {
      const fetch = vi.fn<Fetch>(async () =>
        typeof body === 'string' ? new Response(body, { status: 200 }) : json(body),
      )

      await expect(createClient(fetch).getAccessToken()).rejects.toMatchObject({
        code: 'ERR_TOKEN_REQUEST_FAILED',
        message: 'token response is malformed',
      })
    })

    it('maps a network error to TokenRequestFailed with the cause', async () => {
      const cause = new TypeError('fetch failed')
      const fetch = vi.fn<Fetch>(async () => {
        throw cause
      })

      await expect(createClient(fetch).getAccessToken()).rejects.toMatchObject({
        code: 'ERR_TOKEN_REQUEST_FAILED',
        status: undefined,
        cause,
      })
    })

    it('maps a request that outlives timeoutMs to TokenRequestTimeout', async () => {
      const fetch = vi.fn<Fetch>(
        (_input, init) =>
          new Promise<Response>((_resolve, reject) => {
            const signal = init?.signal
            signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
          }),
      )

      await expect(createClient(fetch, { timeoutMs: 20 }).getAccessToken()).rejects.toMatchObject({
        name: 'TokenRequestTimeout',
        code: 'ERR_TOKEN_REQUEST_TIMEOUT',
      })
    })

    it('never puts the API key in an error message', async () => {
      const failures: Array<() => Promise<Response>> = [
        async () => json({ error: apiKey, error_description: `unknown key ${apiKey}` }, 401),
        async () => json({ error: 'invalid_client', error_description: apiKey.slice(0, 30) }, 401),
        async () => new Response(`bad key ${apiKey}`, { status: 401 }),
        async () => json({ access_token: apiKey, expires_in: 'soon' }),
        async () => {
          throw new TypeError(`could not send ${apiKey}`)
        },
      ]
      for (const failure of failures) {
        for (const protocol of ['v1', 'legacy', 'oauth'] as const) {
          const client = createClient(vi.fn<Fetch>(failure), { protocol })
          const err = await client.getAccessToken().catch((e: unknown) => e)

          expect(err).toMatchObject({ code: 'ERR_TOKEN_REQUEST_FAILED' })
          expect(String(err)).not.toContain(apiKey)
          expect((err as Error).message).not.toContain(apiKey)
          expect((err as Error).message).not.toContain(apiKey.slice(4, 30))
        }
      }
    })
  })

  describe('construction', () => {
    const BAD_MARGIN = '"refreshMarginSeconds" option must be a non-negative number'

    it('throws ApiKeyMalformed for a malformed key, without repeating it', () => {
      const last = apiKey.at(-1) === 'a' ? 'b' : 'a'
      const mistyped = apiKey.slice(0, -1) + last
      for (const key of [mistyped, apiKey.slice(0, -1), 'sk_live_123', '']) {
        const err = thrown(() => createTokenClient({ eyepopUrl: EYEPOP_URL, apiKey: key }))

        expect(err).toMatchObject({ code: 'ERR_API_KEY_MALFORMED' })
        if (key !== '') {
          expect(String(err)).not.toContain(key)
          expect((err as Error).message).not.toContain(key)
        }
      }
    })

    it.each(['http://127.0.0.1:8700', 'http://127.3.2.1', 'http://localhost:8700', 'http://emulator.localhost', 'http://[::1]:8700'])(
      'sends the key over plain http to loopback (%s), the emulator on this machine',
      (eyepopUrl) => {
        expect(createTokenClient({ eyepopUrl, apiKey }).eyepopUrl).toBe(eyepopUrl)
      },
    )

    it('sends the key over plain http beyond loopback only when told to', () => {
      expect(createTokenClient({ eyepopUrl: 'http://emulator:8700', apiKey, allowInsecureHttp: true }).eyepopUrl).toBe('http://emulator:8700')
    })

    it('makes no request', () => {
      const fetch = tokenEndpoint()
      createClient(fetch)
      expect(fetch).not.toHaveBeenCalled()
    })

    it.each([
      [{ timeoutMs: 0 }, '"timeoutMs" option must be a positive integer'],
      [{ timeoutMs: -1 }, '"timeoutMs" option must be a positive integer'],
      [{ timeoutMs: 1.5 }, '"timeoutMs" option must be a positive integer'],
      [{ timeoutMs: '5000' }, '"timeoutMs" option must be a positive integer'],
      [{ refreshMarginSeconds: -1 }, BAD_MARGIN],
      [{ refreshMarginSeconds: NaN }, BAD_MARGIN],
      [{ eyepopUrl: 'eyepop.test' }, /^"eyepopUrl" option must be an absolute http\(s\) URL/],
      [{ eyepopUrl: 'ftp://eyepop.test' }, /^"eyepopUrl" option must be/],
      [{ eyepopUrl: 'https://user:pass@eyepop.test' }, /^"eyepopUrl" option must be/],
      [{ eyepopUrl: 'https://eyepop.test/?env=dev' }, /^"eyepopUrl" option must be/],
      [{ protocol: 'v2' }, '"protocol" option must be one of "v1", "legacy" or "oauth"'],
      [{ protocol: 'oauth', tokenEndpoint: '/token' }, /^"tokenEndpoint" option must be/],
      [{ protocol: 'oauth', scope: '' }, '"scope" option must be a non-empty string'],
      [{ protocol: 'oauth', clientId: 7 }, '"clientId" option must be a non-empty string'],
      [{ scope: 'access:datasets' }, /require protocol "oauth"$/],
      [{ protocol: 'legacy', tokenEndpoint: `${EYEPOP_URL}/token` }, /require protocol "oauth"$/],
      [{ fetch: 'fetch' }, '"fetch" option must be a function'],
      [{ now: 0 }, '"now" option must be a function'],
      [{ eyepopUrl: 'http://eyepop.test' }, /^"eyepopUrl" option is plain http to a host beyond loopback, which would send the API key in clear/],
      [{ eyepopUrl: 'http://10.0.0.5:8700' }, /^"eyepopUrl" option is plain http to a host beyond loopback/],
      [{ protocol: 'oauth', tokenEndpoint: 'http://auth.eyepop.test/token' }, /^"tokenEndpoint" option is plain http/],
      [{ eyepopUrl: 'http://eyepop.test', allowInsecureHttp: 'yes' }, '"allowInsecureHttp" option must be a boolean'],
    ])('throws a TypeError for %o', (options, message) => {
      const err = thrown(() =>
        createTokenClient({
          eyepopUrl: EYEPOP_URL,
          apiKey,
          ...(options as Partial<TokenClientOptions>),
        }),
      )

      expect(err).toBeInstanceOf(TypeError)
      if (typeof message === 'string') expect((err as Error).message).toBe(message)
      else expect((err as Error).message).toMatch(message)
    })
  })
})
