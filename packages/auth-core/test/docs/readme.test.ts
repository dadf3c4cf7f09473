/** The package README is its API index: every value the package exports is named in it. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as api from '../../src/index.js'
import * as postgres from '../../src/store/postgres-store.js'
import * as sqlite from '../../src/store/sqlite-store.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('the README of @eyepop/auth-core', () => {
  it('names every value export of the package, of /sqlite and of /postgres', () => {
    const exported = [...Object.keys(api), ...Object.keys(sqlite), ...Object.keys(postgres)]
    expect(exported.length).toBeGreaterThan(30)
    expect(Object.keys(sqlite)).toContain('createSqliteStore')
    expect(Object.keys(postgres)).toEqual(expect.arrayContaining(['createPostgresStore', 'migratePostgres']))
    const missing = exported.filter((name) => !readme.includes(`\`${name}\``))
    expect(missing).toEqual([])
  })
})
