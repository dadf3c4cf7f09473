/**
 * `@eyepop/real-sdks/testing/clear-eyepop-env`: keeps a developer's EyePop settings out of the tests.
 *
 * @module
 */

/**
 * The EyePop variables: those the SDKs read when they build an endpoint (Node 1.x and 3.x:
 * `EYEPOP_SECRET_KEY`, `EYEPOP_API_KEY`, `EYEPOP_URL`, `EYEPOP_POP_ID`, `EYEPOP_ACCOUNT_ID`,
 * `EYEPOP_LOCAL_MODE`, `EYEPOP_SESSION_UUID`, ...; Python 3.x also `EYEPOP_LOG_LEVEL`,
 * `EYEPOP_USER_UUID`) and the emulator's own `EYEPOP_EMULATOR_*`. Matched by prefix, so a variable
 * a new SDK version adds is cleared too.
 */
const EYEPOP_VARIABLE = /^EYEPOP_/

/**
 * Deletes every `EYEPOP_*` variable from `env` (by default `process.env`) and returns it, so an SDK
 * built in a test, or a process it starts, uses only the settings the test gives it.
 *
 * @param env The environment to clear. Default is `process.env`; pass a copy to build a child's.
 * @example
 * ```ts
 * import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
 *
 * // At the top of a test file, before any SDK endpoint is built.
 * clearEyePopEnv()
 * // A child process's environment without them.
 * spawn(python, [script], { env: clearEyePopEnv({ ...process.env }) })
 * ```
 */
export function clearEyePopEnv<T extends NodeJS.ProcessEnv>(env: T = process.env as T): T {
  for (const name of Object.keys(env)) if (EYEPOP_VARIABLE.test(name)) delete env[name]
  return env
}
