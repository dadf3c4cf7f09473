/**
 * Loads the emulator dashboard's own API client (`apps/emulator/dashboard/api.js`, the module the
 * browser page runs) so the `Dashboard` contract is written through the real client code. It is
 * a browser module: it calls the global `fetch` with same-origin paths and lets the browser send
 * the session cookie, so a test gives it a `fetch` that does what the browser would.
 *
 * The file ships in `@eyepop/emulator` (`files: ["dashboard"]`) but is not in its exports map: it
 * is found next to the package's exported `package.json`.
 *
 * @module
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** A key as the dashboard lists it (the secret is never in it). */
export interface DashboardKey {
  id: string
  name: string
  hint: string
  createdAt: string
  expiresAt: string | null
  status: string
}

/** The dashboard's API client (the subset the contract uses). */
export interface DashboardApi {
  session(): Promise<{ account: { id: string; email: string; name: string }; csrfToken?: string }>
  listKeys(): Promise<DashboardKey[]>
  createKey(input: { name: string; expires: string }): Promise<DashboardKey & { key: string }>
  deleteKey(id: string): Promise<undefined>
}

/** An answer of the API that was not a success (the module's `ApiError`). */
export interface DashboardApiError extends Error {
  status: number
  error: string
}

interface DashboardApiModule {
  createApi(options: { onSignedOut: () => void }): DashboardApi
  ApiError: new (...args: never[]) => DashboardApiError
}

/**
 * Imports `dashboard/api.js` from the installed `@eyepop/emulator`.
 *
 * @example
 * ```ts
 * const { createApi } = await loadDashboardApi()
 * const api = createApi({ onSignedOut: () => {} })
 * ```
 */
export async function loadDashboardApi(): Promise<DashboardApiModule> {
  const packageJson = createRequire(import.meta.url).resolve('@eyepop/emulator/package.json')
  return (await import(pathToFileURL(join(dirname(packageJson), 'dashboard', 'api.js')).href)) as DashboardApiModule
}

/**
 * A `fetch` that behaves like a browser page's for same-origin calls: relative paths resolve
 * against `origin`, and `headers` (the session cookie a browser would attach, or any credential)
 * are added. Options Node's `fetch` does not implement (`credentials`, `cache`) are dropped.
 *
 * @param origin the page's origin (the mock server's or the emulator's URL)
 * @param headers headers to add to every request
 */
export function browserFetch(origin: string, headers: Record<string, string>): typeof fetch {
  // Node's own fetch, taken now: the page's global `fetch` is about to be this function.
  const nodeFetch = globalThis.fetch
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input), origin)
    const merged = new Headers(init.headers)
    for (const [name, value] of Object.entries(headers)) merged.set(name, value)
    const { credentials: _credentials, cache: _cache, ...rest } = init as RequestInit & { cache?: unknown }
    return nodeFetch(url, { ...rest, headers: merged })
  }
}
