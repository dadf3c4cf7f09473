// CommonJS: the packages are ESM only, and Node 22.12 and later (20.19 too) load them with
// require() (none of their modules awaits at the top level, which would forbid it).
const assert = require('node:assert/strict')
const { generateApiKey, parseApiKey } = require('@eyepop/auth-core')
const { createSqliteStore } = require('@eyepop/auth-core/sqlite')
const { createPostgresStore } = require('@eyepop/auth-core/postgres')
const { startServer } = require('@eyepop/emulator')
const { startEmulator } = require('@eyepop/emulator/testing')

const key = generateApiKey()
assert.equal(parseApiKey(key).key, key)
assert.equal(typeof createSqliteStore, 'function')
assert.equal(typeof createPostgresStore, 'function')
assert.equal(typeof startServer, 'function')
assert.equal(typeof startEmulator, 'function')
console.log(JSON.stringify({ ok: true }))
