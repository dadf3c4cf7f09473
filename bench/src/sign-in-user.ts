/**
 * Signs a user in to a running emulator without a browser, for the soak's dashboard API traffic:
 * the device authorization grant (RFC 8628) that `eyepop-emulator login` starts, with the
 * person's side played over HTTP by a cookie-keeping client (open the verification URL, confirm
 * the code, sign in with the password), as the emulator's own device-login test does. What comes
 * back is a real signed-in user's access token (scope `manage:keys`, one hour), the credential the
 * key-management API takes besides the dashboard's cookie.
 *
 * @module
 */

/** The emulator's command-line client and grant (`apps/emulator/src/provider/constants.ts`). */
const CLI_CLIENT_ID = 'eyepop-cli'
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** Options of {@link signInUser}. */
export interface SignInUserOptions {
  /** The emulator's base URL (its issuer). */
  url: string
  email: string
  /** Secret. */
  password: string
}

async function postForm(url: string, params: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(10_000),
  })
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> }
}

/** A person's browser, as far as the sign-in pages need one: cookies, no redirects followed. */
function browser(baseUrl: string) {
  const cookies = new Map<string, string>()
  return async function request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (cookies.size > 0) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const target = path.startsWith('http') ? path : `${baseUrl}${path}`
    const res = await fetch(target, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(10_000) })
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0]!
      const at = pair.indexOf('=')
      const name = pair.slice(0, at).trim()
      const value = pair.slice(at + 1).trim()
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) cookies.delete(name)
      else cookies.set(name, value)
    }
    return res
  }
}

const pathOf = (location: string) => (location.startsWith('http') ? new URL(location).pathname + new URL(location).search : location)

/** Submits the form of a page (the one with `id="formId"`, or the first) with its hidden inputs plus `extra`. */
function submitForm(request: ReturnType<typeof browser>, html: string, extra: Record<string, string> = {}, formId?: string) {
  const formHtml = formId ? html.slice(Math.max(0, html.indexOf(`id="${formId}"`) - 200)) : html
  const action = /<form[^>]*action="([^"]+)"/.exec(formHtml)?.[1]
  if (!action) throw new Error(`sign-in: no form on the page: ${html.slice(0, 300)}`)
  const fields: Record<string, string> = {}
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[match[1]!] = match[2]!
  return request(pathOf(action.replace(/&amp;/g, '&')), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, ...extra }),
  })
}

/** The person: opens the verification URL, confirms the code, signs in; fails unless signed in. */
async function approve(baseUrl: string, verificationUriComplete: string, email: string, password: string): Promise<void> {
  const request = browser(baseUrl)
  let res = await request(pathOf(verificationUriComplete))
  for (let step = 0; step < 15; step++) {
    if (res.status >= 300 && res.status < 400) {
      res = await request(pathOf(res.headers.get('location')!))
      continue
    }
    const html = await res.text()
    if (html.includes('You are signed in')) return
    if (html.includes('role="alert"')) throw new Error(`sign-in refused: ${/role="alert"[^>]*>([^<]*)/.exec(html)?.[1] ?? res.status}`)
    if (html.includes('Submitting Callback')) res = await submitForm(request, html)
    else if (html.includes('op.deviceConfirmForm')) res = await submitForm(request, html, {}, 'op.deviceConfirmForm')
    else if (html.includes('name="password"')) res = await submitForm(request, html, { email, password })
    else throw new Error(`sign-in: unexpected page (${res.status}): ${html.slice(0, 300)}`)
  }
  throw new Error('sign-in: too many steps')
}

/**
 * Signs `email` in through the device flow and resolves with the user's access token.
 *
 * @example
 * ```ts
 * const token = await signInUser({ url: emulator.url, email: 'ana@example.test', password })
 * await fetch(`${emulator.url}/api/v1/keys`, { headers: { Authorization: `Bearer ${token}` } })
 * ```
 */
export async function signInUser(options: SignInUserOptions): Promise<string> {
  const url = options.url.replace(/\/+$/, '')
  const start = await postForm(`${url}/device/auth`, { client_id: CLI_CLIENT_ID, scope: 'openid manage:keys', resource: `${url}/api` })
  const { device_code: deviceCode, verification_uri_complete: complete } = start.body as Record<string, string | undefined>
  if (start.status !== 200 || !deviceCode || !complete) throw new Error(`POST /device/auth answered ${start.status}: ${JSON.stringify(start.body)}`)
  await approve(url, complete, options.email, options.password)
  // Approved before the first poll, so the first poll gets the token.
  const token = await postForm(`${url}/token`, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: CLI_CLIENT_ID })
  if (token.status !== 200 || typeof token.body.access_token !== 'string') {
    throw new Error(`POST /token (device code) answered ${token.status}: ${JSON.stringify(token.body)}`)
  }
  return token.body.access_token
}
