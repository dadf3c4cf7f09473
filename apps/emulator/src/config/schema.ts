import { defaults, type EmulatorConfig } from './defaults.js'
import { OPTION_NAMES, OPTIONS } from './options.js'

export { isOriginPattern, MAX_TOKEN_TTL_SECONDS } from './options.js'

/** The configs {@link resolveConfig} returned: checked once, handed on as they are. */
const resolvedConfigs = new WeakSet<EmulatorConfig>()

/**
 * Merges `input` over the defaults and checks every option against its declaration in
 * `options.ts`, failing fast with a `TypeError` that names the bad setting. A config it returned
 * (frozen) is returned as it is, not checked again: `startServer` resolves once and `createApp`
 * takes the result.
 */
export function resolveConfig(input: Partial<EmulatorConfig> = {}): EmulatorConfig {
  if (resolvedConfigs.has(input as EmulatorConfig)) return input as EmulatorConfig
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined))
  const merged: Record<string, unknown> = { ...defaults, ...defined }
  const config: Record<string, unknown> = {}
  for (const name of OPTION_NAMES) {
    const value = merged[name]
    if (value === undefined && OPTIONS[name].default === undefined) continue
    config[name] = OPTIONS[name].check(name, value)
  }
  const resolved = config as EmulatorConfig
  if (resolved.temporaryKeyTtlSeconds > resolved.temporaryKeyMaxTtlSeconds) {
    throw new TypeError('"temporaryKeyTtlSeconds" must not exceed "temporaryKeyMaxTtlSeconds"')
  }
  if (resolved.testControl && !isLoopbackHost(resolved.host)) {
    throw new TypeError('"testControl" is refused on a non-loopback host: anyone who could reach it could move time, fail routes and wipe the store')
  }
  resolvedConfigs.add(Object.freeze(resolved))
  return resolved
}

/**
 * A resolved config with the address the server was given on listening (`port: 0` becomes the
 * port the system picked, the issuer follows it): the two options checked, the rest kept as
 * resolved.
 */
export function withListenAddress(config: EmulatorConfig, port: number, issuer: string): EmulatorConfig {
  const updated = {
    ...config,
    port: OPTIONS.port.check('port', port),
    issuer: OPTIONS.issuer.check('issuer', issuer),
  } as EmulatorConfig
  resolvedConfigs.add(Object.freeze(updated))
  return updated
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
