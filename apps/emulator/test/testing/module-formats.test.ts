/**
 * `@eyepop/emulator/testing` through the package's exports (as an app's tests import it), from an
 * ES module and from a CommonJS file, each in a Node process of its own.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

function run(file: string) {
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url))], { encoding: 'utf8', timeout: 30_000 })
  expect(result.status, result.stderr).toBe(0)
  return JSON.parse(result.stdout.trim()) as { format: string; status: number; advanced: boolean }
}

describe('@eyepop/emulator/testing', () => {
  it('imports from an ES module', () => {
    expect(run('use-harness.mjs')).toEqual({ format: 'module', status: 200, advanced: true })
  })

  it('requires from a CommonJS file', () => {
    expect(run('use-harness.cjs')).toEqual({ format: 'commonjs', status: 200, advanced: true })
  })
})
