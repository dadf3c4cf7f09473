/** A tiny cookie-keeping HTTP client that signs in to the dashboard the way a browser does. */
export interface BrowserSession {
  /** Sends a request with the jar's cookies; does not follow redirects. */
  request(path: string, init?: RequestInit): Promise<Response>
  cookies: Map<string, string>
  /** Every Set-Cookie line received, in order. */
  setCookieLines: string[]
}

export function browser(baseUrl: string): BrowserSession {
  const cookies = new Map<string, string>()
  const setCookieLines: string[] = []
  return {
    cookies,
    setCookieLines,
    async request(path, init = {}) {
      const headers = new Headers(init.headers)
      if (cookies.size > 0) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '))
      const url = path.startsWith('http') ? path : `${baseUrl}${path}`
      const res = await fetch(url, { ...init, headers, redirect: 'manual' })
      for (const line of res.headers.getSetCookie()) {
        setCookieLines.push(line)
        const [pair] = line.split(';')
        const index = pair!.indexOf('=')
        const name = pair!.slice(0, index).trim()
        const value = pair!.slice(index + 1).trim()
        if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) cookies.delete(name)
        else cookies.set(name, value)
      }
      return res
    },
  }
}

/** Follows redirects (GET) from `path` until a non-redirect answer; returns it and the final path. */
export async function follow(session: BrowserSession, path: string, init?: RequestInit): Promise<{ res: Response; path: string }> {
  let res = await session.request(path, init)
  let current = path
  for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops++) {
    const location = res.headers.get('location')!
    current = location.startsWith('http') ? new URL(location).pathname + new URL(location).search : location
    res = await session.request(current)
  }
  return { res, path: current }
}

/** Signs in at `/dashboard` with a password; resolves the login page answer if it failed. */
export async function signIn(session: BrowserSession, email: string, password: string) {
  const loginPage = await follow(session, '/dashboard')
  const action = /action="([^"]+)"/.exec(await loginPage.res.text())?.[1]
  if (!action) throw new Error(`no login form at ${loginPage.path}`)
  const posted = await session.request(action.replace(/&amp;/g, '&'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password }),
  })
  if (posted.status === 401) return { ok: false as const, res: posted, action }
  const location = posted.headers.get('location')!
  const done = await follow(session, location.startsWith('http') ? new URL(location).pathname + new URL(location).search : location)
  // A sign-in that ends in an error (a refused callback) did not sign in.
  if (done.res.status >= 400) return { ok: false as const, res: done.res, action }
  return { ok: true as const, res: done.res, path: done.path }
}
