/**
 * The emulator's configuration and its defaults, in one place. Every key says what it is, its
 * unit and what to set it to. Only `main.ts`/the CLI read `process.env`; everything else takes an
 * {@link EmulatorConfig}.
 *
 * @module
 */

/** The emulator's configuration. */
export interface EmulatorConfig {
  /**
   * title: host
   * description: the interface the server listens on.
   * recommendation: keep `127.0.0.1`; use `0.0.0.0` only inside a container.
   */
  host: string
  /**
   * title: port
   * description: the TCP port (0 picks a free one).
   */
  port: number
  /**
   * title: issuer
   * description: the public base URL: the `iss` of every token, the OAuth issuer, and the
   * `eyepopUrl` to give the SDK. Default: `http://{host}:{port}`.
   * recommendation: set it when the emulator is reached through another address (a container
   * port mapping, a proxy).
   */
  issuer?: string
  /**
   * title: dataDir
   * description: the folder of the SQLite store (`emulator.db`), or `null` for an in-memory store
   * that is lost on exit and that the CLI cannot reach.
   */
  dataDir: string | null
  /**
   * title: audience
   * description: the `aud` of access tokens; resource servers verify it.
   */
  audience: string
  /**
   * title: tokenTtlSeconds
   * description: the lifetime (in seconds) of access tokens from an API key, on every route.
   * recommendation: keep it at 120 or more: the EyePop SDKs refresh 60 s before expiry, so a
   * shorter token makes them ask for a new one on every call.
   */
  tokenTtlSeconds: number
  /**
   * title: temporaryKeyTtlSeconds
   * description: the default lifetime (in seconds) of a temporary key minted for a browser or
   * mobile client.
   * recommendation: keep it short (15 minutes): a key in a browser can leak through devtools,
   * logs or an XSS hole, and the SDK simply fetches a new session from your server when one expires.
   */
  temporaryKeyTtlSeconds: number
  /**
   * title: temporaryKeyMaxTtlSeconds
   * description: the longest lifetime (in seconds) a server may ask for a temporary key.
   * recommendation: one hour; a temporary key never outlives what minted it either.
   */
  temporaryKeyMaxTtlSeconds: number
  /**
   * title: corsOrigins
   * description: browser origins allowed to call the Pop routes (CORS). `*` in the port matches any
   * port, e.g. `http://localhost:*`.
   * recommendation: list your web app's origins; the default allows local development only.
   */
  corsOrigins: string[]
  /**
   * title: allowBrowserApiKeys
   * description: whether the API-key routes accept requests from a browser (with an `Origin`
   * header).
   * recommendation: keep `false`: API keys belong on servers; browsers get temporary keys.
   */
  allowBrowserApiKeys: boolean
  /**
   * title: predictionsFile
   * description: a JSON file of canned predictions the mock Pop returns from `process()`:
   * `{"default": Prediction | Prediction[], "pops": {"<popId>": Prediction | Prediction[]}}`.
   * Default: one person on a 640×480 frame for every Pop.
   */
  predictionsFile?: string
  /**
   * title: maxUploadBytes
   * description: the largest image or video (in bytes) the mock Pop accepts in `process()`.
   */
  maxUploadBytes: number
  /**
   * title: maxBodyBytes
   * description: the largest JSON request body (in bytes) the auth and Pop routes accept; larger
   * bodies get 413.
   */
  maxBodyBytes: number
  /**
   * title: revocationPollMs
   * description: how often (in milliseconds) the server re-reads deleted keys from the store, so
   * a key deleted by the CLI stops working within this time plus one read.
   * recommendation: keep it at 100 (at most 500) to keep the 1 s revocation guarantee.
   */
  revocationPollMs: number
  /**
   * title: lastUsedFlushMs
   * description: how often (in milliseconds) key last-use times are written, in one batch, so the
   * token route never writes to the database per request.
   */
  lastUsedFlushMs: number
  /**
   * title: maxKeysPerAccount
   * description: the most live (not deleted) API keys an account may have; creating one more is
   * refused with 409 `limit_exceeded`. From 1 to 10000.
   * recommendation: keep 20: one key per server or environment, deleted when retired.
   */
  maxKeysPerAccount: number
  /**
   * title: defaultPassword
   * description: the sign-in password the default account (`dev@eyepop.local`) gets on first
   * start, 8 to 200 characters. A password already set is kept. It is printed at start.
   * recommendation: development only: anyone who can reach the emulator can sign in with it.
   */
  defaultPassword: string
  /**
   * title: allowDefaultPassword
   * description: whether the emulator may listen beyond loopback (e.g. `0.0.0.0`) while the
   * default account still has the built-in password `eyepop-dev`. Without it, such a start is
   * refused: anyone who reaches the emulator could sign in and manage its keys.
   * recommendation: keep `false`; set `defaultPassword` on a new data dir instead. In a container
   * whose port is published on loopback only, `true` is safe.
   */
  allowDefaultPassword: boolean
  /**
   * title: accountsFile
   * description: a JSON file of more development accounts, created at start when their email
   * does not exist yet: `[{"email": "...", "password": "...", "name": "...", "id"?: "<uuid>"}]`.
   * recommendation: development only: the file holds passwords in clear; keep it out of git.
   */
  accountsFile?: string
  /**
   * title: sessionIdleTimeoutSeconds
   * description: how long (in seconds) a compute session (the EyePop SDK 3.x) or a transient
   * pipeline may go unused before it ends. Neither SDK deletes its session on `disconnect()`; a
   * session whose pipeline is deleted (which both do) ends at once, one left connected ends after
   * this time, so an account's 20 live sessions are never used up by clients that are gone.
   * recommendation: keep 300 (the idle time the Python SDK asks for its pipelines): long enough for
   * a paused debugger or a slow test, short enough that a crashed test run frees its sessions
   * within minutes.
   */
  sessionIdleTimeoutSeconds: number
  /**
   * title: signInRateLimit
   * description: how many sign-ins one client address may start per minute: dashboard logins,
   * OAuth authorization requests (`/auth`) and device authorizations (`/device/auth`, the CLI's
   * `login`). Each leaves a pending sign-in in the store until it expires (10 to 15 minutes), so
   * this bounds what anonymous requests can store. Beyond it: 429 with `Retry-After`.
   * recommendation: keep 30 (a person signs in a few times a minute at most); raise it for a test
   * suite that drives many device or browser sign-ins from one address.
   */
  signInRateLimit: number
  /**
   * title: logLevel
   * description: pino log level (`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`).
   */
  logLevel: string
}

/** Where the embedded store lives by default, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.eyepop-emulator'

/** The database file inside the data dir. */
export const DATABASE_FILENAME = 'emulator.db'

/** The defaults. */
export const defaults: Readonly<EmulatorConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 8700,
  dataDir: DEFAULT_DATA_DIR,
  audience: 'https://api.eyepop.ai',
  tokenTtlSeconds: 3600,
  temporaryKeyTtlSeconds: 900,
  temporaryKeyMaxTtlSeconds: 3600,
  corsOrigins: ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'],
  allowBrowserApiKeys: false,
  maxBodyBytes: 64 * 1024,
  maxUploadBytes: 32 * 1024 * 1024,
  revocationPollMs: 100,
  lastUsedFlushMs: 1000,
  maxKeysPerAccount: 20,
  defaultPassword: 'eyepop-dev',
  allowDefaultPassword: false,
  sessionIdleTimeoutSeconds: 300,
  signInRateLimit: 30,
  logLevel: 'info',
})
