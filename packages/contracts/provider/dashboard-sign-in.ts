/**
 * Signs in to the emulator's dashboard the way a browser does (authorization code with PKCE
 * through the emulator's own login page), so a provider state gets a real dashboard session:
 * its cookie and its CSRF token.
 */

/** A signed-in dashboard session. */
export interface DashboardSignIn {
  /** The `Cookie` header value a browser would send: `eyepop_session=…`. */
  readonly cookie: string
  /** The session's CSRF token, which changes must send as `X-CSRF-Token`. */
  readonly csrfToken: string
}

/**
 * Signs in as `email` / `password` at `baseUrl` and returns the session.
 *
 * @throws {Error} when the login page cannot be found or the sign-in is refused
 */
export async function signInToDashboard(baseUrl: string, email: string, password: string): Promise<DashboardSignIn> {
  const jar = new Map<string, string>()

  async function request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (jar.size > 0) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '))
    const res = await fetch(new URL(path, baseUrl), { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const index = pair.indexOf('=')
      const name = pair.slice(0, index).trim()
      const value = pair.slice(index + 1).trim()
      if (value === '' || /max-age=0/i.test(line)) jar.delete(name)
      else jar.set(name, value)
    }
    return res
  }

  /** Follows GET redirects from `path`; returns the final answer and its path. */
  async function follow(path: string): Promise<{ res: Response; path: string }> {
    let current = path
    let res = await request(current)
    for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops++) {
      const location = new URL(res.headers.get('location') ?? '/', baseUrl)
      current = location.pathname + location.search
      await res.body?.cancel()
      res = await request(current)
    }
    return { res, path: current }
  }

  const login = await follow('/dashboard')
  const action = /action="([^"]+)"/.exec(await login.res.text())?.[1]?.replace(/&amp;/g, '&')
  if (!action) throw new Error(`no login form at ${login.path}`)
  const posted = await request(action, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password }),
  })
  if (posted.status < 300 || posted.status >= 400) throw new Error(`sign-in refused with status ${posted.status}`)
  const next = new URL(posted.headers.get('location') ?? '/', baseUrl)
  await follow(next.pathname + next.search)
  const session = jar.get('eyepop_session')
  if (!session) throw new Error('sign-in did not start a dashboard session')
  const me = await request('/api/v1/session')
  const { csrfToken } = (await me.json()) as { csrfToken?: string }
  if (typeof csrfToken !== 'string') throw new Error('the dashboard session has no csrf token')
  return { cookie: `eyepop_session=${session}`, csrfToken }
}
