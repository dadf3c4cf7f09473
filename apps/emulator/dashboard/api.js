/**
 * The dashboard's client of the emulator's REST API (`/api/v1`, documented in `/openapi.json`).
 * The session cookie goes along on its own (same origin); every change also carries the session's
 * CSRF token in `X-CSRF-Token`, which the page reads from `GET /api/v1/session`.
 *
 * @module
 */

/** An answer of the API that was not a success, with its `{ error, error_description }`. */
export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status
   * @param {{ error?: string, error_description?: string } | undefined} body the error body
   */
  constructor(status, body) {
    super(body?.error_description ?? `the request failed with status ${status}`)
    this.name = 'ApiError'
    /** The HTTP status. */
    this.status = status
    /** The OAuth-style error code, such as `invalid_request` or `limit_exceeded`. */
    this.error = body?.error ?? 'server_error'
    /** The server's description of the rule that was broken, if any. */
    this.description = body?.error_description
  }
}

/**
 * Creates the API client.
 *
 * @param {{ onSignedOut: () => void }} options `onSignedOut` runs when the API answers 401 (the
 *   session has ended), so the page can send the browser to the sign-in
 */
export function createApi(options) {
  let csrfToken = ''

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body] sent as JSON
   */
  async function request(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' }
    if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    const response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (response.status === 204) return undefined
    const data = await response.json().catch(() => undefined)
    if (response.status === 401) options.onSignedOut()
    if (!response.ok) throw new ApiError(response.status, data)
    return data
  }

  return {
    /** The signed-in account; also keeps the session's CSRF token for later changes. */
    async session() {
      const session = await request('GET', '/api/v1/session')
      csrfToken = session.csrfToken ?? ''
      return session
    },
    listKeys: async () => (await request('GET', '/api/v1/keys')).keys,
    /** @param {{ name: string, expires: string }} input */
    createKey: (input) => request('POST', '/api/v1/keys', input),
    /** @param {string} id */
    deleteKey: (id) => request('DELETE', `/api/v1/keys/${encodeURIComponent(id)}`),
    listPops: async () => (await request('GET', '/api/v1/pops')).pops,
    /** @param {{ name: string }} input */
    createPop: (input) => request('POST', '/api/v1/pops', input),
    /** @param {number} limit */
    listAudit: async (limit) => (await request('GET', `/api/v1/audit?limit=${limit}`)).events,
  }
}

/**
 * A sentence for an error of the API or the network.
 *
 * @param {unknown} err
 */
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.error === 'limit_exceeded') {
      const reason = (err.description ?? 'you have reached the limit of API keys').replace(/\.$/, '')
      return `${reason}. Delete a key you no longer need, then try again.`
    }
    return err.description ?? `The server answered ${err.status}.`
  }
  return 'The emulator could not be reached. Check that it is running, then try again.'
}

/** @typedef {ReturnType<typeof createApi>} Api */
