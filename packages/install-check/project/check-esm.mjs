// Plain Node ESM, no test runner and no transpiler: the installed packages import as a user's
// script imports them, each entry point of their `exports` maps.
import assert from 'node:assert/strict'
import { errors, generateApiKey, isApiKey, parseApiKey } from '@eyepop/auth-core'
import { createPostgresStore, migratePostgres } from '@eyepop/auth-core/postgres'
import { createSqliteStore } from '@eyepop/auth-core/sqlite'
import { createApp, defaults, resolveConfig, startServer } from '@eyepop/emulator'
import { startEmulator } from '@eyepop/emulator/testing'

const key = generateApiKey()
assert.ok(isApiKey(key))
assert.equal(parseApiKey(key).key, key)
assert.throws(() => parseApiKey('eyp_not-a-key'), (err) => err instanceof errors.ApiKeyMalformed && err.code === 'ERR_API_KEY_MALFORMED')
assert.equal(typeof createSqliteStore, 'function')
assert.equal(typeof migratePostgres, 'function')
// pg loads from the project, and the store's errors are the main entry's classes.
await assert.rejects(
  createPostgresStore({ connectionString: 'postgres://app:secret@127.0.0.1:1/keys' }),
  (err) => err instanceof errors.StoreError && err.code === 'ERR_STORE' && !err.message.includes('secret'),
)
for (const fn of [createApp, resolveConfig, startServer, startEmulator]) assert.equal(typeof fn, 'function')
assert.equal(defaults.port, 8700)

const emulator = JSON.parse(await import('node:fs').then((fs) => fs.promises.readFile(new URL(import.meta.resolve('@eyepop/emulator/package.json')), 'utf8')))
console.log(JSON.stringify({ ok: true, emulator: emulator.version }))
