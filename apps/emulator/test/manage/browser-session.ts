/** A tiny cookie-keeping HTTP client that signs in to the dashboard the way a browser does. */
export interface BrowserSession {
  /** Sends a request with the jar's cookies; does not follow redirects. */
  request(path: string, init?: RequestInit): Promise<Response>
  cookies: Map<string, string>
  /** Every Set-Cookie line received, in order. */
  setCookieLines: string[]
}

/**
 * A cookie jar against `baseUrl`, or against the base URL `baseUrl()` names for each request (to
 * send consecutive requests of one browser to different instances).
 */
export function browser(baseUrl: string | (() => string)): BrowserSession {
  const cookies = new Map<string, string>()
  const setCookieLines: string[] = []
  return {
    cookies,
    setCookieLines,
    async request(path, init = {}) {
      const headers = new Headers(init.headers)
      if (cookies.size > 0) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '))
      const url = path.startsWith('http') ? path : `${typeof baseUrl === 'string' ? baseUrl : baseUrl()}${path}`
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

/** The path and query of a `Location` (absolute or not). */
export const pathOf = (location: string) => (location.startsWith('http') ? new URL(location).pathname + new URL(location).search : location)

/** Submits the first form of an HTML page with its hidden inputs plus `extra`. */
export async function submitForm(user: BrowserSession, html: string, extra: Record<string, string> = {}, formId?: string) {
  const formHtml = formId ? html.slice(html.indexOf(`id="${formId}"`) - 200) : html
  const action = /<form[^>]*action="([^"]+)"/.exec(formHtml)?.[1]
  if (!action) throw new Error(`no form in:\n${html.slice(0, 500)}`)
  const fields: Record<string, string> = {}
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[match[1]!] = match[2]!
  return user.request(pathOf(action.replace(/&amp;/g, '&')), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, ...extra }),
  })
}

/** Plays the person: open the URL, confirm the code, sign in; resolves the final page text. */
export async function approve(user: BrowserSession, verificationUriComplete: string, password: string): Promise<string> {
  let res = await user.request(pathOf(verificationUriComplete))
  for (let step = 0; step < 15; step++) {
    if (res.status >= 300 && res.status < 400) {
      res = await user.request(pathOf(res.headers.get('location')!))
      continue
    }
    const html = await res.text()
    if (html.includes('You are signed in') || html.includes('role="alert"')) return html
    if (html.includes('Submitting Callback')) res = await submitForm(user, html)
    else if (html.includes('op.deviceConfirmForm')) res = await submitForm(user, html, {}, 'op.deviceConfirmForm')
    else if (html.includes('name="password"')) res = await submitForm(user, html, { email: 'dev@eyepop.local', password })
    else throw new Error(`unexpected page:\n${html.slice(0, 500)}`)
  }
  throw new Error('too many steps')
}
