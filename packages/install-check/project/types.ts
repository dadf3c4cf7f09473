// Type-checked, never run, under `moduleResolution: node16` and `bundler` (tsconfig.*.json): the
// installed packages' declarations resolve, and what a user touches is typed, not `any`.
import { createAccessTokenVerifier, parseApiKey, type AccessTokenVerifier, type ParsedApiKey } from '@eyepop/auth-core'
import { createPostgresStore, type PostgresKeyStore } from '@eyepop/auth-core/postgres'
import { createSqliteStore } from '@eyepop/auth-core/sqlite'
import { startServer, type EmulatorApp, type EmulatorConfig, type RunningServer } from '@eyepop/emulator'
import { startEmulator, type TestEmulator } from '@eyepop/emulator/testing'

/** `true` when `T` is `any`: a declaration that failed to resolve reads as `any`, silently. */
type IsAny<T> = 0 extends 1 & T ? true : false

export async function useBoth(): Promise<string> {
  const parsed: ParsedApiKey = parseApiKey('eyp_…')
  const config: Partial<EmulatorConfig> = { port: 0, host: '127.0.0.1', dataDir: null, logLevel: 'silent' }
  const running: RunningServer = await startServer(config)
  const verify: AccessTokenVerifier = createAccessTokenVerifier({
    issuer: running.emulator.issuer,
    audience: running.emulator.config.audience,
    keys: running.emulator.keyring,
  })
  const { claims } = await verify(parsed.key)
  await running.close()
  return `${claims.sub} ${running.url}`
}

// The types that come from the packages' own dependencies (Express, node:http) resolve too.
export const typed: [
  IsAny<typeof startServer>,
  IsAny<RunningServer['server']>,
  IsAny<EmulatorApp['app']>,
  IsAny<EmulatorApp['app']['listen']>,
  IsAny<typeof createSqliteStore>,
  IsAny<typeof createPostgresStore>,
  IsAny<PostgresKeyStore['pool']>,
  IsAny<typeof startEmulator>,
  IsAny<TestEmulator['clock']>,
  IsAny<TestEmulator['faults']>,
] = [false, false, false, false, false, false, false, false, false, false]
