import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../services/passwords.js'
import { defaults, type EmulatorConfig } from './defaults.js'

/** The longest access-token lifetime the emulator issues (1 day). */
export const MAX_TOKEN_TTL_SECONDS = 86_400

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`"${name}" must be an integer from ${min} to ${max}`)
  }
  return value
}

function url(name: string, value: string): string {
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    throw new TypeError(`"${name}" must be an absolute URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`"${name}" must be an http or https URL`)
  }
  return value.replace(/\/+$/, '')
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
 * Merges `input` over the defaults and validates the result, failing fast with a `TypeError` that
 * names the bad setting.
 */
export function resolveConfig(input: Partial<EmulatorConfig> = {}): EmulatorConfig {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined))
  const config: EmulatorConfig = { ...defaults, ...defined }
  if (typeof config.host !== 'string' || config.host.length === 0) {
    throw new TypeError('"host" must be a non-empty string')
  }
  integer('port', config.port, 0, 65535)
  integer('tokenTtlSeconds', config.tokenTtlSeconds, 1, MAX_TOKEN_TTL_SECONDS)
  integer('temporaryKeyTtlSeconds', config.temporaryKeyTtlSeconds, 1, 86_400)
  integer('temporaryKeyMaxTtlSeconds', config.temporaryKeyMaxTtlSeconds, 1, 86_400)
  if (config.temporaryKeyTtlSeconds > config.temporaryKeyMaxTtlSeconds) {
    throw new TypeError('"temporaryKeyTtlSeconds" must not exceed "temporaryKeyMaxTtlSeconds"')
  }
  if (!Array.isArray(config.corsOrigins) || !config.corsOrigins.every(isOriginPattern)) {
    throw new TypeError('"corsOrigins" must be a list of origins such as https://app.example or http://localhost:*')
  }
  if (typeof config.allowBrowserApiKeys !== 'boolean') {
    throw new TypeError('"allowBrowserApiKeys" must be a boolean')
  }
  if (typeof config.allowDefaultPassword !== 'boolean') {
    throw new TypeError('"allowDefaultPassword" must be a boolean')
  }
  integer('maxUploadBytes', config.maxUploadBytes, 1024, 1024 * 1024 * 1024)
  if (config.predictionsFile !== undefined && (typeof config.predictionsFile !== 'string' || config.predictionsFile === '')) {
    throw new TypeError('"predictionsFile" must be a file path')
  }
  integer('maxBodyBytes', config.maxBodyBytes, 1024, 16 * 1024 * 1024)
  // Above 500 ms a poll plus its read could miss the 1 s revocation guarantee.
  integer('revocationPollMs', config.revocationPollMs, 10, 500)
  integer('lastUsedFlushMs', config.lastUsedFlushMs, 10, 60_000)
  integer('maxKeysPerAccount', config.maxKeysPerAccount, 1, 10_000)
  integer('sessionIdleTimeoutSeconds', config.sessionIdleTimeoutSeconds, 1, 86_400)
  integer('signInRateLimit', config.signInRateLimit, 1, 1_000_000)
  const passwordLength = typeof config.defaultPassword === 'string' ? [...config.defaultPassword].length : 0
  if (passwordLength < PASSWORD_MIN_LENGTH || passwordLength > PASSWORD_MAX_LENGTH) {
    throw new TypeError(`"defaultPassword" must be a string of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`)
  }
  if (config.accountsFile !== undefined && (typeof config.accountsFile !== 'string' || config.accountsFile === '')) {
    throw new TypeError('"accountsFile" must be a file path')
  }
  if (!LOG_LEVELS.has(config.logLevel)) {
    throw new TypeError(`"logLevel" must be one of ${[...LOG_LEVELS].join(', ')}`)
  }
  if (config.dataDir !== null && (typeof config.dataDir !== 'string' || config.dataDir === '')) {
    throw new TypeError('"dataDir" must be a folder path or null')
  }
  if (typeof config.audience !== 'string' || config.audience === '') {
    throw new TypeError('"audience" must be a non-empty string')
  }
  if (config.issuer !== undefined) config.issuer = url('issuer', config.issuer)
  return config
}

/** Whether `host` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`): reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare)
}

/** The issuer of a config: `issuer`, else `http://{host}:{port}` (IPv6 hosts bracketed). */
export function issuerOf(config: EmulatorConfig): string {
  if (config.issuer) return config.issuer
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  const shown = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host
  return `http://${shown}:${config.port}`
}
