/**
 * `eyepop-emulator`: the command's entry. The commands themselves are in `commands.ts`.
 */
import { toOAuthError } from '../http/error-handler.js'
import { OAuthError } from '../http/errors.js'
import { buildCli } from './commands.js'

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    const httpError = toOAuthError(err)
    const message = httpError instanceof OAuthError && httpError.expose ? httpError.message : String((err as Error)?.message ?? err)
    console.error(`error: ${message}`)
    process.exitCode = 1
  })
