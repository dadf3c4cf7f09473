import { randomBytes, timingSafeEqual } from 'node:crypto'
import { parseCookie, stringifySetCookie, type SetCookie } from 'cookie'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EmulatorStore } from '../store/types.js'

/** The cookie of a signed-in dashboard session (HttpOnly, SameSite=Lax). */
export const SESSION_COOKIE = 'eyepop_session'
/** The cookie binding a sign-in in progress to this browser (state of the code flow). */
export const LOGIN_COOKIE = 'eyepop_login'
/** How long (in seconds) a dashboard session may go unused before it ends. */
export const SESSION_IDLE_SECONDS = 30 * 60
/** How often (in seconds, at most) a session's last use is written back to the store. */
const LAST_SEEN_WRITE_SECONDS = 60
/** How long (in seconds) a sign-in may take. */
export const LOGIN_TTL_SECONDS = 600

/** A signed-in dashboard session, kept server-side; the cookie holds only its random id. */
export interface DashboardSession {
  readonly accountId: string
  /** The synchronizer token every cookie-authenticated change must send as `X-CSRF-Token`. */
  readonly csrfToken: string
  readonly createdAt: number
  /** When the session was last used (ms), to within a minute. */
  readonly lastSeenAt: number
}

/** A sign-in in progress: the PKCE verifier of its authorization request. */
export interface PendingLogin {
  readonly codeVerifier: string
  readonly returnTo: string
}

const randomId = () => randomBytes(32).toString('base64url')

/** Constant-time comparison of two strings. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

/** The cookies of a request. */
export function cookiesOf(req: IncomingMessage): Record<string, string | undefined> {
  return req.headers.cookie ? parseCookie(req.headers.cookie) : {}
}

/** The attributes of a cookie the emulator sets (`maxAge` in milliseconds). */
type CookieOptions = Omit<SetCookie, 'name' | 'value' | 'maxAge' | 'expires'> & { maxAge?: number }

/**
 * Adds a `Set-Cookie` to the response as Express's `res.cookie` writes it: `maxAge` (ms) gives
 * `Max-Age` (s) and `Expires`; the path is `/` unless given.
 */
export function setCookie(res: ServerResponse, name: string, value: string, options: CookieOptions & { expires?: Date }): void {
  const { maxAge, ...rest } = options
  const cookie = stringifySetCookie({
    path: '/',
    ...rest,
    name,
    value,
    ...(maxAge !== undefined && { maxAge: Math.floor(maxAge / 1000), expires: new Date(Date.now() + maxAge) }),
  })
  const previous = res.getHeader('Set-Cookie')
  res.setHeader('Set-Cookie', previous === undefined ? cookie : [...(Array.isArray(previous) ? previous : [String(previous)]), cookie])
}

/** Expires a cookie, as Express's `res.clearCookie` does. */
export function clearCookie(res: ServerResponse, name: string, options: Omit<CookieOptions, 'maxAge'>): void {
  setCookie(res, name, '', { ...options, expires: new Date(1) })
}

/** Where sessions are kept: oidc-provider's artifact storage (the store's `oidc` part). */
export type SessionStorage = Pick<EmulatorStore['oidc'], 'upsert' | 'find' | 'destroy'>

/** The cookies of oidc-provider's own session (its `_session` cookie names the stored `Session`). */
const PROVIDER_SESSION_COOKIES = ['_session', '_session.sig', '_session.legacy', '_session.legacy.sig']

/**
 * Dashboard sessions and pending sign-ins, stored as oidc artifacts, so they live in the same
 * SQLite file and survive a restart until they expire.
 */
export function createDashboardSessions(
  store: SessionStorage,
  options: { secure: boolean; now: () => number; /** How long (in seconds) a session lasts at most. */ ttlSeconds: number },
) {
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure: options.secure, path: '/' }
  return {
    async start(res: ServerResponse, accountId: string): Promise<DashboardSession> {
      const id = randomId()
      const at = options.now()
      const session: DashboardSession = { accountId, csrfToken: randomId(), createdAt: at, lastSeenAt: at }
      await store.upsert('DashboardSession', id, { ...session }, options.ttlSeconds)
      setCookie(res, SESSION_COOKIE, id, { ...cookieOptions, maxAge: options.ttlSeconds * 1000 })
      return session
    },
    async current(req: IncomingMessage): Promise<(DashboardSession & { id: string }) | undefined> {
      const id = cookiesOf(req)[SESSION_COOKIE]
      if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined
      const session = (await store.find('DashboardSession', id)) as unknown as DashboardSession | undefined
      if (!session) return undefined
      const at = options.now()
      // Sessions from before the idle timeout have no lastSeenAt: their creation stands in.
      const lastSeenAt = session.lastSeenAt ?? session.createdAt
      if (at - lastSeenAt >= SESSION_IDLE_SECONDS * 1000) {
        await store.destroy('DashboardSession', id)
        return undefined
      }
      if (at - lastSeenAt >= LAST_SEEN_WRITE_SECONDS * 1000) {
        // Keeps the absolute end: the row expires when the session would have anyway.
        const left = Math.ceil((session.createdAt + options.ttlSeconds * 1000 - at) / 1000)
        if (left <= 0) return undefined
        await store.upsert('DashboardSession', id, { ...session, lastSeenAt: at }, left)
      }
      return { ...session, lastSeenAt, id }
    },
    /** Ends this browser's dashboard session and the OAuth server's, so the next sign-in asks for the password. */
    async end(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const cookies = cookiesOf(req)
      const id = cookies[SESSION_COOKIE]
      if (id) await store.destroy('DashboardSession', id)
      clearCookie(res, SESSION_COOKIE, cookieOptions)
      const providerSession = cookies['_session']
      if (providerSession) await store.destroy('Session', providerSession)
      for (const name of PROVIDER_SESSION_COOKIES) clearCookie(res, name, { path: '/' })
    },
    async beginLogin(res: ServerResponse, login: PendingLogin): Promise<string> {
      const state = randomId()
      await store.upsert('DashboardLogin', state, { ...login }, LOGIN_TTL_SECONDS)
      setCookie(res, LOGIN_COOKIE, state, { ...cookieOptions, maxAge: LOGIN_TTL_SECONDS * 1000 })
      return state
    },
    /** The pending sign-in of `state`, if this browser started it; it can be used once. */
    async finishLogin(req: IncomingMessage, res: ServerResponse, state: string): Promise<PendingLogin | undefined> {
      const expected = cookiesOf(req)[LOGIN_COOKIE]
      clearCookie(res, LOGIN_COOKIE, cookieOptions)
      if (!expected || !safeEqual(expected, state)) return undefined
      const payload = await store.find('DashboardLogin', state)
      await store.destroy('DashboardLogin', state)
      return payload as unknown as PendingLogin | undefined
    },
  }
}

export type DashboardSessions = ReturnType<typeof createDashboardSessions>
