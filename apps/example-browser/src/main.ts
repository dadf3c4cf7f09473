/**
 * Starts the example: reads its settings from the environment and listens on 127.0.0.1.
 *
 * - `EYEPOP_API_KEY` (required): the API key, kept on this server
 * - `EYEPOP_POP_ID` (required): the Pop the page may use
 * - `EYEPOP_URL`: EyePop or the emulator. Default is `http://127.0.0.1:8700` (the emulator)
 * - `PORT`: the port to listen on. Default is 3000
 *
 * @module
 */
import { isAuthCoreError } from '@eyepop/auth-core'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createExampleServer } from './server.js'

const DEFAULT_EYEPOP_URL = 'http://127.0.0.1:8700'
const DEFAULT_PORT = 3000
const HOST = '127.0.0.1'

function fail(message: string): never {
  console.error(`example-browser: ${message}`)
  process.exit(1)
}

function required(name: string, hint: string): string {
  const value = process.env[name]?.trim()
  if (!value) fail(`${name} must be set: ${hint}`)
  return value
}

function readPort(): number {
  const raw = process.env.PORT?.trim()
  if (!raw) return DEFAULT_PORT
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    fail('PORT must be an integer between 0 and 65535')
  }
  return port
}

const apiKey = required('EYEPOP_API_KEY', 'an API key, e.g. from `npx eyepop-emulator keys create --name example`')
const popId = required('EYEPOP_POP_ID', 'a Pop id, e.g. from `npx eyepop-emulator pops create --name example`')
const eyepopUrl = process.env.EYEPOP_URL?.trim() || DEFAULT_EYEPOP_URL
if (!/^https?:\/\//.test(eyepopUrl) || !URL.canParse(eyepopUrl)) {
  fail(`EYEPOP_URL must be an absolute http(s) URL, e.g. ${DEFAULT_EYEPOP_URL}`)
}
const port = readPort()

let app
try {
  app = createExampleServer({
    eyepopUrl,
    apiKey,
    popId,
    onSessionError(err) {
      // auth-core's messages never contain the key.
      const reason = isAuthCoreError(err) ? `${err.code}: ${err.message}` : String(err)
      console.error(`example-browser: could not create a session: ${reason}`)
    },
  })
} catch (err) {
  // A malformed key or URL: the messages name the rule, never the key.
  fail(isAuthCoreError(err) ? `EYEPOP_API_KEY is not valid: ${err.message}` : `bad settings: ${(err as Error).message}`)
}

const server = createServer(app)
server.once('error', (err: NodeJS.ErrnoException) => {
  fail(err.code === 'EADDRINUSE' ? `port ${port} is already in use: set PORT to another one` : err.message)
})
server.listen(port, HOST, () => {
  const { port: bound } = server.address() as AddressInfo
  console.log(`example-browser: open http://${HOST}:${bound}/ (Pop ${popId} on ${eyepopUrl})`)
})

function shutdown() {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
