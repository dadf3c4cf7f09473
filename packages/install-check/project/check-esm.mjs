// Plain Node ESM, no test runner and no transpiler: the installed packages import as a user's
// script imports them, each entry point of their `exports` maps.
import assert from 'node:assert/strict'
import { errors, generateApiKey, isApiKey, parseApiKey } from '@eyepop/auth-core'
import { createSqliteStore } from '@eyepop/auth-core/sqlite'
import { createApp, defaults, resolveConfig, startServer } from '@eyepop/emulator'
import { startEmulator } from '@eyepop/emulator/testing'

const key = generateApiKey()
assert.ok(isApiKey(key))
assert.equal(parseApiKey(key).key, key)
assert.throws(() => parseApiKey('eyp_not-a-key'), (err) => err instanceof errors.ApiKeyMalformed && err.code === 'ERR_API_KEY_MALFORMED')
assert.equal(typeof createSqliteStore, 'function')
for (const fn of [createApp, resolveConfig, startServer, startEmulator]) assert.equal(typeof fn, 'function')
assert.equal(defaults.port, 8700)

const emulator = JSON.parse(await import('node:fs').then((fs) => fs.promises.readFile(new URL(import.meta.resolve('@eyepop/emulator/package.json')), 'utf8')))
console.log(JSON.stringify({ ok: true, emulator: emulator.version }))
