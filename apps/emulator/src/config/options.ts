/**
 * Every option of the emulator, declared once: its value and unit, its range, its environment
 * variable and flag, its help text and why its default is what it is. The configuration type
 * ({@link EmulatorConfig}), the defaults, `resolveConfig`'s checks, the `start` command's options
 * and the README's options table all come from here (a test fails when the README and this
 * disagree; `npm run docs:options -w @eyepop/emulator` rewrites the README's table).
 *
 * @module
 */

/** Where the embedded store lives by default, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.eyepop-emulator'

/** The longest access-token lifetime the emulator issues (1 day). */
export const MAX_TOKEN_TTL_SECONDS = 86_400

/** A password's length, in characters (code points). */
export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 200

/** pino's levels. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** One option. `T` is its value's type; `Optional` says whether it may be left unset (no default). */
export interface OptionSpec<T, Optional extends boolean = false> {
  /** The `start` flag, e.g. `--port`. */
  readonly flag: string
  /** The flag's value as shown in help and the README (`N`, `S`, `FILE`); absent for a boolean. */
  readonly valueName?: string
  /** The environment variable the flag reads when it is not given. */
  readonly env: string
  /** The default (`undefined` for an option that is unset unless given). */
  readonly default: Optional extends true ? undefined : T
  /** The default as the README shows it, when the value itself does not say it well. */
  readonly defaultText?: string
  /** What it is, one sentence, for `--help` and the README. */
  readonly help: string
  /** Why the default is what it is, or what to set it to. */
  readonly why?: string
  /** Checks a value (from code, a flag or a variable), returning it as stored; throws a `TypeError` naming the option. */
  readonly check: (name: string, value: unknown) => T
  /** Reads the flag's or the variable's text; throws an `Error` whose message says what is allowed. */
  readonly parse: (text: string) => T
  /** A boolean option: `--flag` alone is true. */
  readonly boolean?: true
  readonly optional?: Optional
  /**
   * Its value may hold a secret (a password in a URL): no message ever quotes it, not even when
   * it is refused (commander's own message about an invalid value would).
   */
  readonly secret?: true
}

const fail = (message: string): never => {
  throw new TypeError(message)
}

function integer(spec: { flag: string; valueName: string; env: string; default: number; min: number; max: number; help: string; why?: string }): OptionSpec<number> {
  const { min, max } = spec
  const check = (name: string, value: unknown): number =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? value
      : fail(`"${name}" must be an integer from ${min} to ${max}`)
  return {
    ...spec,
    check,
    parse: (text) => {
      const n = Number(text)
      if (!/^\d+$/.test(text) || n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`)
      return n
    },
  }
}

/**
 * A boolean option's value, from its flag (`--flag`, `--flag false`) or its environment variable:
 * `true`, `1`, `yes`, `on` are true; `false`, `0`, `no`, `off` and empty are false; anything else is
 * refused, so `FLAG=false` never turns a feature on.
 */
export function parseBoolean(text: string): boolean {
  const normalized = text.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true
  if (['false', '0', 'no', 'off', ''].includes(normalized)) return false
  throw new Error('must be true or false (or 1/0, yes/no, on/off)')
}

function boolean(spec: { flag: string; env: string; default: boolean; help: string; why?: string }): OptionSpec<boolean> {
  return {
    ...spec,
    boolean: true,
    defaultText: spec.default ? 'on' : 'off',
    check: (name, value) => (typeof value === 'boolean' ? value : fail(`"${name}" must be a boolean`)),
    parse: parseBoolean,
  }
}

function text(spec: { flag: string; valueName: string; env: string; default: string; defaultText?: string; help: string; why?: string }): OptionSpec<string> {
  return {
    ...spec,
    check: (name, value) => (typeof value === 'string' && value !== '' ? value : fail(`"${name}" must be a non-empty string`)),
    parse: (t) => t,
  }
}

function file(spec: { flag: string; valueName: string; env: string; defaultText: string; help: string; why?: string }): OptionSpec<string, true> {
  return {
    ...spec,
    default: undefined,
    optional: true,
    check: (name, value) => (typeof value === 'string' && value !== '' ? value : fail(`"${name}" must be a file path`)),
    parse: (t) => t,
  }
}

/** Whether `value` is an origin (`scheme://host[:port]`), with `*` allowed as the port. */
export function isOriginPattern(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const concrete = value.endsWith(':*') ? `${value.slice(0, -2)}:1234` : value
  try {
    const url = new URL(concrete)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === concrete
  } catch {
    return false
  }
}

/**
 * Whether `value` is a PostgreSQL connection URL (`postgres://` or `postgresql://`, as pg and libpq
 * read them). Never quote it in a message: it may hold a password.
 */
export function isPostgresUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false
  try {
    const { protocol, hostname, pathname } = new URL(value)
    // A host, or a database name with the socket folder in ?host=.
    return (protocol === 'postgres:' || protocol === 'postgresql:') && (hostname !== '' || pathname.length > 1)
  } catch {
    return false
  }
}

/** The options, by their name in {@link EmulatorConfig}. */
export const OPTIONS = {
  port: integer({
    flag: '--port', valueName: 'N', env: 'EYEPOP_EMULATOR_PORT', default: 8700, min: 0, max: 65535,
    help: 'the TCP port to listen on (0 picks a free one)',
  }),
  host: text({
    flag: '--host', valueName: 'H', env: 'EYEPOP_EMULATOR_HOST', default: '127.0.0.1',
    help: 'the interface to listen on',
    why: 'keep 127.0.0.1; use 0.0.0.0 only inside a container',
  }),
  dataDir: {
    flag: '--data-dir', valueName: 'DIR', env: 'EYEPOP_EMULATOR_DATA_DIR', default: DEFAULT_DATA_DIR,
    help: 'the folder of the SQLite store (emulator.db); null (--memory) for a store in memory',
    check: (name: string, value: unknown): string | null =>
      value === null || (typeof value === 'string' && value !== '') ? value : fail(`"${name}" must be a folder path or null`),
    parse: (t: string): string | null => t,
  } satisfies OptionSpec<string | null>,
  databaseUrl: {
    flag: '--database-url', valueName: 'URL', env: 'EYEPOP_EMULATOR_DATABASE_URL', default: undefined, optional: true, secret: true, defaultText: 'none',
    help: 'a PostgreSQL database (postgres://user:password@host:port/database) for the store instead of the data dir\'s SQLite file, shared by every emulator started on it; the password is never printed (prefer the variable: a flag shows in the process list)',
    why: 'set it to run several emulators behind one address (see "Several instances on PostgreSQL"); without it, one emulator keeps its store in --data-dir',
    check: (name: string, value: unknown): string => (isPostgresUrl(value) ? value : fail(`"${name}" must be a postgres:// or postgresql:// URL`)),
    parse: (t: string): string => (isPostgresUrl(t) ? t : fail('must be a postgres:// or postgresql:// URL')),
  } satisfies OptionSpec<string, true>,
  issuer: {
    flag: '--issuer', valueName: 'URL', env: 'EYEPOP_EMULATOR_ISSUER', default: undefined, optional: true, defaultText: 'http://HOST:PORT',
    help: 'the public base URL: the iss of every token, the OAuth issuer and the eyepopUrl to give the SDK',
    why: 'set it when the emulator is reached through another address (a container port mapping, a proxy)',
    check: (name: string, value: unknown): string => {
      let parsed: URL | undefined
      try {
        parsed = typeof value === 'string' ? new URL(value) : undefined
      } catch {
        parsed = undefined
      }
      if (!parsed) return fail(`"${name}" must be an absolute URL`)
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return fail(`"${name}" must be an http or https URL`)
      return (value as string).replace(/\/+$/, '')
    },
    parse: (t: string) => t,
  } satisfies OptionSpec<string, true>,
  tokenTtlSeconds: integer({
    flag: '--token-ttl', valueName: 'S', env: 'EYEPOP_EMULATOR_TOKEN_TTL', default: 3600, min: 1, max: MAX_TOKEN_TTL_SECONDS,
    help: 'the lifetime (in seconds) of access tokens from an API key, on every route',
    why: 'keep it at 120 or more: the EyePop SDKs refresh 60 s before expiry, so a shorter token makes them ask for a new one on every call',
  }),
  audience: text({
    flag: '--audience', valueName: 'AUD', env: 'EYEPOP_EMULATOR_AUDIENCE', default: 'https://api.eyepop.ai',
    help: 'the aud of access tokens, which resource servers verify',
  }),
  temporaryKeyTtlSeconds: integer({
    flag: '--temporary-key-ttl', valueName: 'S', env: 'EYEPOP_EMULATOR_TEMPORARY_KEY_TTL', default: 900, min: 1, max: 86_400,
    help: 'the default lifetime (in seconds) of a temporary key minted for a browser or mobile client',
    why: 'keep it short: a key in a browser can leak through devtools, logs or an XSS hole, and the SDK fetches a new session from your server when one expires',
  }),
  temporaryKeyMaxTtlSeconds: integer({
    flag: '--temporary-key-max-ttl', valueName: 'S', env: 'EYEPOP_EMULATOR_TEMPORARY_KEY_MAX_TTL', default: 3600, min: 1, max: 86_400,
    help: 'the longest lifetime (in seconds) a server may ask for a temporary key',
    why: 'one hour; a temporary key never outlives what minted it either',
  }),
  corsOrigins: {
    flag: '--cors-origins', valueName: 'LIST', env: 'EYEPOP_EMULATOR_CORS_ORIGINS',
    default: ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'], defaultText: 'localhost origins',
    help: 'comma-separated browser origins allowed on the Pop routes (CORS); :* matches any port',
    why: 'list your web app\'s origins; the default allows local development only',
    check: (name: string, value: unknown): string[] =>
      Array.isArray(value) && value.every(isOriginPattern)
        ? [...value]
        : fail(`"${name}" must be a list of origins such as https://app.example or http://localhost:*`),
    parse: (t: string) => t.split(',').map((o) => o.trim()).filter(Boolean),
  } satisfies OptionSpec<string[]>,
  allowBrowserApiKeys: boolean({
    flag: '--allow-browser-api-keys', env: 'EYEPOP_EMULATOR_ALLOW_BROWSER_API_KEYS', default: false,
    help: 'accept API keys on the API-key routes from a browser (a request with an Origin header)',
    why: 'keep it off: API keys belong on servers; browsers get temporary keys',
  }),
  testControl: boolean({
    flag: '--test-control', env: 'EYEPOP_EMULATOR_TEST_CONTROL', default: false,
    help: 'serve the test control API under /_test/ (virtual clock, faults, reset, seeding; see the README); loopback only',
    why: 'for tests only: anyone who can reach it can move time, fail routes and wipe the store',
  }),
  defaultPassword: {
    flag: '--default-password', valueName: 'P', env: 'EYEPOP_EMULATOR_DEFAULT_PASSWORD', default: 'eyepop-dev',
    help: `the development account's (dev@eyepop.local) password on a new data dir, ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters; a password already set is kept (prefer the variable: a flag shows in the process list)`,
    why: 'development only: anyone who can reach the emulator can sign in with it',
    check: (name: string, value: unknown): string => {
      const length = typeof value === 'string' ? [...value].length : 0
      return length >= PASSWORD_MIN_LENGTH && length <= PASSWORD_MAX_LENGTH
        ? (value as string)
        : fail(`"${name}" must be a string of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`)
    },
    parse: (t: string) => t,
  } satisfies OptionSpec<string>,
  allowDefaultPassword: boolean({
    flag: '--allow-default-password', env: 'EYEPOP_EMULATOR_ALLOW_DEFAULT_PASSWORD', default: false,
    help: 'listen beyond loopback (e.g. 0.0.0.0) although the development account still has the built-in password eyepop-dev',
    why: 'keep it off and set a password on a new data dir instead; in a container whose port is published on loopback only, on is safe',
  }),
  predictionsFile: file({
    flag: '--predictions', valueName: 'FILE', env: 'EYEPOP_EMULATOR_PREDICTIONS', defaultText: 'built in',
    help: 'a JSON file of canned predictions the mock Pop returns: {"default": ..., "pops": {"<popId>": ...}} (default: one person on a 640×480 frame)',
  }),
  accountsFile: file({
    flag: '--accounts', valueName: 'FILE', env: 'EYEPOP_EMULATOR_ACCOUNTS', defaultText: 'none',
    help: 'a JSON file of development accounts to create at start: [{email, password, name, id?}]',
    why: 'development only: the file holds passwords in clear; keep it out of git',
  }),
  maxKeysPerAccount: integer({
    flag: '--max-keys-per-account', valueName: 'N', env: 'EYEPOP_EMULATOR_MAX_KEYS_PER_ACCOUNT', default: 20, min: 1, max: 10_000,
    help: 'the most live API keys an account may have; one more is refused with 409 limit_exceeded (`keys create` takes it too); counted and written in one transaction of the store, so it holds across emulators sharing a --database-url, and for `keys create` beside a running emulator given the same value (the variable gives it to both)',
    why: 'one key per server or environment, deleted when retired',
  }),
  sessionIdleTimeoutSeconds: integer({
    flag: '--session-idle-timeout', valueName: 'S', env: 'EYEPOP_EMULATOR_SESSION_IDLE_TIMEOUT', default: 300, min: 1, max: 86_400,
    help: 'how long (in seconds) a compute session or transient pipeline may go unused before it ends',
    why: 'the idle time the Python SDK asks for its pipelines: long enough for a paused debugger, short enough that a crashed test run frees its sessions within minutes',
  }),
  userTokenTtlSeconds: integer({
    flag: '--user-token-ttl', valueName: 'S', env: 'EYEPOP_EMULATOR_USER_TOKEN_TTL', default: 3600, min: 60, max: 86_400,
    help: 'the lifetime (in seconds) of a signed-in user\'s access tokens (manage:keys: the dashboard, `login`, the key-management API)',
    why: 'an hour, as EyePop\'s; the CLI signs in again after it',
  }),
  signInSessionSeconds: integer({
    flag: '--sign-in-session-ttl', valueName: 'S', env: 'EYEPOP_EMULATOR_SIGN_IN_SESSION_TTL', default: 28_800, min: 300, max: 2_592_000,
    help: 'how long (in seconds) a sign-in lasts at most: the dashboard session, and the OAuth session that signs a user in again without a password',
    why: 'a working day (8 h); each session also ends after 30 minutes unused',
  }),
  deviceCodeTtlSeconds: integer({
    flag: '--device-code-ttl', valueName: 'S', env: 'EYEPOP_EMULATOR_DEVICE_CODE_TTL', default: 600, min: 60, max: 3600,
    help: 'how long (in seconds) a device code of `login` (RFC 8628) can be approved',
    why: 'ten minutes to open the page and sign in, as usual for the device flow',
  }),
  maxEventSockets: integer({
    flag: '--max-event-sockets', valueName: 'N', env: 'EYEPOP_EMULATOR_MAX_EVENT_SOCKETS', default: 1024, min: 1, max: 100_000,
    help: 'the most data-event WebSockets open at once, per instance (each emulator on a --database-url counts its own); one more is refused with 503 and Retry-After',
    why: 'bounds the memory anonymous upgrades can take (each socket holds buffers)',
  }),
  maxEventSocketsPerAccount: integer({
    flag: '--max-event-sockets-per-account', valueName: 'N', env: 'EYEPOP_EMULATOR_MAX_EVENT_SOCKETS_PER_ACCOUNT', default: 16, min: 1, max: 10_000,
    help: 'the most authenticated data-event WebSockets of one account, per instance (each emulator on a --database-url counts its own); one more is closed with 1008 access_denied',
    why: 'one token must not hold every socket; an app needs a few',
  }),
  maxSessionsPerAccount: integer({
    flag: '--max-sessions-per-account', valueName: 'N', env: 'EYEPOP_EMULATOR_MAX_SESSIONS_PER_ACCOUNT', default: 20, min: 1, max: 10_000,
    help: 'the most live compute sessions (EyePop SDK 3.x) an account may have, per instance (each emulator on a --database-url counts its own); one more is refused with 409 limit_exceeded, saying how to free one',
    why: 'a guard against a client that leaks sessions; idle sessions end after --session-idle-timeout',
  }),
  signInRateLimit: integer({
    flag: '--sign-in-rate-limit', valueName: 'N', env: 'EYEPOP_EMULATOR_SIGN_IN_RATE_LIMIT', default: 30, min: 1, max: 1_000_000,
    help: 'how many sign-ins one address may start per minute (dashboard logins, /auth, device logins), per instance (each emulator on a --database-url counts its own); beyond it, 429 with Retry-After',
    why: 'a person signs in a few times a minute at most; raise it for a test suite that drives many sign-ins',
  }),
  maxBodyBytes: integer({
    flag: '--max-body-bytes', valueName: 'N', env: 'EYEPOP_EMULATOR_MAX_BODY_BYTES', default: 64 * 1024, min: 1024, max: 16 * 1024 * 1024,
    help: 'the largest JSON body (in bytes) the auth, Pop and key-management routes accept; a larger one gets 400 invalid_request, "request body is too large"',
  }),
  maxUploadBytes: integer({
    flag: '--max-upload-bytes', valueName: 'N', env: 'EYEPOP_EMULATOR_MAX_UPLOAD_BYTES', default: 32 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024,
    help: 'the largest image or video (in bytes) the mock Pop accepts',
  }),
  revocationPollMs: integer({
    flag: '--revocation-poll-ms', valueName: 'MS', env: 'EYEPOP_EMULATOR_REVOCATION_POLL_MS', default: 100, min: 10, max: 500,
    help: 'how often (in milliseconds) the server re-reads deleted keys and revoked tokens from the store',
    why: 'at most 500: a poll plus its read must fit in the 1 s within which a deleted key stops working',
  }),
  lastUsedFlushMs: integer({
    flag: '--last-used-flush-ms', valueName: 'MS', env: 'EYEPOP_EMULATOR_LAST_USED_FLUSH_MS', default: 1000, min: 10, max: 60_000,
    help: 'how often (in milliseconds) key last-use times are written, in one batch',
    why: 'the token route then never writes to the database per request',
  }),
  auditFlushMs: integer({
    flag: '--audit-flush-ms', valueName: 'MS', env: 'EYEPOP_EMULATOR_AUDIT_FLUSH_MS', default: 1000, min: 10, max: 60_000,
    help: 'how often (in milliseconds) the token routes\' audit events (a key\'s first use, failed authentications) are written, in one batch',
    why: 'the token route then never writes to the database per request; an event is in the audit log within this time',
  }),
  headersTimeoutMs: integer({
    flag: '--headers-timeout-ms', valueName: 'MS', env: 'EYEPOP_EMULATOR_HEADERS_TIMEOUT_MS', default: 10_000, min: 1000, max: 600_000,
    help: 'how long (in milliseconds) a client may take to send a request\'s headers',
    why: 'slow clients cannot hold a socket for long',
  }),
  requestTimeoutMs: integer({
    flag: '--request-timeout-ms', valueName: 'MS', env: 'EYEPOP_EMULATOR_REQUEST_TIMEOUT_MS', default: 30_000, min: 1000, max: 3_600_000,
    help: 'how long (in milliseconds) a client may take to send a whole request, uploads included',
    why: 'long enough for a 32 MB upload on a slow link in development; raise it when you raise --max-upload-bytes',
  }),
  keepAliveTimeoutMs: integer({
    flag: '--keep-alive-timeout-ms', valueName: 'MS', env: 'EYEPOP_EMULATOR_KEEP_ALIVE_TIMEOUT_MS', default: 5000, min: 100, max: 600_000,
    help: 'how long (in milliseconds) an idle keep-alive connection stays open',
  }),
  logLevel: {
    flag: '--log-level', valueName: 'L', env: 'EYEPOP_EMULATOR_LOG_LEVEL', default: 'info',
    help: `the pino log level (${LOG_LEVELS.join(', ')}); secrets are always redacted`,
    check: (name: string, value: unknown): string =>
      (LOG_LEVELS as readonly unknown[]).includes(value) ? (value as string) : fail(`"${name}" must be one of ${LOG_LEVELS.join(', ')}`),
    parse: (t: string) => t,
  } satisfies OptionSpec<string>,
} as const

type Options = typeof OPTIONS
type ValueOf<S> = S extends { check: (name: string, value: unknown) => infer T } ? T : never
type RequiredKeys = { [K in keyof Options]: Options[K] extends { optional: true } ? never : K }[keyof Options]
type OptionalKeys = Exclude<keyof Options, RequiredKeys>

/** The emulator's configuration: one key per entry of {@link OPTIONS}, which documents each. */
export type EmulatorConfig = { -readonly [K in RequiredKeys]: ValueOf<Options[K]> } & { -readonly [K in OptionalKeys]?: ValueOf<Options[K]> }

/** `start --memory`: the in-memory store, that is `dataDir: null`. */
export const MEMORY_FLAG = { flag: '--memory', help: 'use an in-memory store (lost on exit; the CLI cannot reach it)' } as const

/** An option's name. */
export type OptionName = keyof Options

/** The options' names, in the order the README lists them. */
export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[]
