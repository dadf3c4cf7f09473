/**
 * `eyepop-emulator login`: command-line sign-in with the OAuth device authorization grant
 * (RFC 8628), as EyePop's own tools sign in. The user opens a URL, signs in and confirms the code;
 * the command polls the token endpoint and saves the signed-in user's access token (owner-only
 * file) for the key-management API.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { CLI_CLIENT_ID, DEVICE_CODE_GRANT, MANAGE_SCOPE, manageResource } from '../provider/constants.js'

/** What `login` saves. */
export interface SavedCredentials {
  url: string
  accessToken: string
  /** Expiry (ms). */
  expiresAt: number
  account: { id: string; email: string; name: string }
}

/** Options of {@link deviceLogin}. */
export interface DeviceLoginOptions {
  /** The emulator's base URL. */
  url: string
  /** Where to save the credentials (written with mode 0600). */
  credentialsFile: string
  /** Shows the user what to open and which code to confirm. */
  prompt: (verificationUri: string, userCode: string, verificationUriComplete: string) => void
  /** `fetch`. Default is `globalThis.fetch`. */
  fetch?: typeof fetch
  /** Waits between polls. Default: a timer. */
  sleep?: (ms: number) => Promise<void>
}

async function form(fetchImpl: typeof fetch, url: string, params: Record<string, string>) {
  const res = await fetchImpl(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(10_000),
  })
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> }
}

/**
 * Runs the device flow against `url` and saves the credentials.
 *
 * @throws {Error} with a clear message when the user denies, the code expires or the server fails
 */
export async function deviceLogin(options: DeviceLoginOptions): Promise<SavedCredentials> {
  const fetchImpl = options.fetch ?? globalThis.fetch
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const url = options.url.replace(/\/+$/, '')
  const start = await form(fetchImpl, `${url}/device/auth`, {
    client_id: CLI_CLIENT_ID,
    scope: `openid ${MANAGE_SCOPE}`,
    resource: manageResource(url),
  })
  if (start.status !== 200 || typeof start.body.device_code !== 'string') {
    throw new Error(`the emulator at ${url} refused the sign-in (${String(start.body.error ?? start.status)})`)
  }
  const { device_code: deviceCode, user_code: userCode, verification_uri: uri, verification_uri_complete: complete } = start.body as Record<string, string>
  options.prompt(uri!, userCode!, complete!)
  let intervalMs = Number(start.body.interval ?? 5) * 1000
  const deadline = Date.now() + Number(start.body.expires_in ?? 600) * 1000
  while (Date.now() < deadline) {
    await sleep(intervalMs)
    const poll = await form(fetchImpl, `${url}/token`, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode!, client_id: CLI_CLIENT_ID })
    if (poll.status === 200 && typeof poll.body.access_token === 'string') {
      const accessToken = poll.body.access_token
      const me = await fetchImpl(`${url}/api/v1/session`, { headers: { Authorization: `Bearer ${accessToken}` } })
      if (me.status !== 200) throw new Error(`signed in, but the key-management API refused the token (${me.status})`)
      const { account } = (await me.json()) as { account: SavedCredentials['account'] }
      const saved: SavedCredentials = {
        url,
        accessToken,
        expiresAt: Date.now() + Number(poll.body.expires_in ?? 3600) * 1000,
        account,
      }
      saveCredentials(options.credentialsFile, saved)
      return saved
    }
    switch (poll.body.error) {
      case 'authorization_pending':
        continue
      case 'slow_down':
        intervalMs += 5000
        continue
      case 'access_denied':
        throw new Error('the sign-in was denied')
      case 'expired_token':
        throw new Error('the code expired before it was confirmed; run login again')
      default:
        throw new Error(`the sign-in failed (${String(poll.body.error ?? poll.status)})`)
    }
  }
  throw new Error('the code expired before it was confirmed; run login again')
}

/**
 * Writes the credentials to a new file of mode 0600 and renames it over `file`: the token is never
 * readable by others, even when `file` existed with a wider mode, and a crash leaves the old file
 * or the new one, never half of one.
 */
function saveCredentials(file: string, saved: SavedCredentials): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`
  try {
    writeFileSync(temporary, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
    renameSync(temporary, file)
  } catch (err) {
    rmSync(temporary, { force: true })
    throw err
  }
}
