/**
 * The options are declared once (src/config/options.ts): the README's table, the `start` command
 * and resolveConfig's checks come from that declaration.
 */
import { readFileSync } from 'node:fs'
import request from 'supertest'
import { describe, expect, it, vi } from 'vitest'
import { buildCli } from '../../src/cli/commands.js'
import { defaults } from '../../src/config/defaults.js'
import { OPTIONS_TABLE_END, OPTIONS_TABLE_START, renderOptionsTable } from '../../src/config/options-table.js'
import { OPTION_NAMES, OPTIONS, type OptionSpec } from '../../src/config/options.js'
import { resolveConfig, withListenAddress } from '../../src/config/schema.js'
import { startEmulatorProcess } from '../e2e/process.js'
import { createTestEmulator, startTestServer } from '../helpers.js'

const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8')

describe('the README options table', () => {
  it('is the one rendered from the declaration (npm run docs:options -w @eyepop/emulator rewrites it)', () => {
    const start = readme.indexOf(OPTIONS_TABLE_START)
    const end = readme.indexOf(OPTIONS_TABLE_END)
    expect(start).toBeGreaterThan(-1)
    expect(end).toBeGreaterThan(start)
    expect(readme.slice(start + OPTIONS_TABLE_START.length, end).trim()).toBe(renderOptionsTable())
  })

  it('has a row per option, with its flag, variable and default', () => {
    const table = renderOptionsTable()
    for (const name of OPTION_NAMES) {
      const spec: OptionSpec<unknown, boolean> = OPTIONS[name]
      const row = table.split('\n').find((line) => line.startsWith(`| \`${spec.flag} `))
      expect(row, name).toBeDefined()
      expect(row).toContain(`\`${spec.env}\``)
      if (typeof spec.default === 'number') expect(row).toContain(`\`${spec.default}\``)
    }
  })
})

describe('eyepop-emulator start', () => {
  const start = buildCli().commands.find((c) => c.name() === 'start')!
  // One line per option: the text is checked, not the wrapping.
  const help = start.configureHelp({ helpWidth: 100_000 }).helpInformation()

  it('offers every option with its variable', () => {
    for (const name of OPTION_NAMES) {
      const spec: OptionSpec<unknown, boolean> = OPTIONS[name]
      expect(help, name).toContain(spec.flag)
      expect(help, name).toContain(`env: ${spec.env}`)
    }
  })

  it('hands a flag and a variable to the emulator it starts (an option that had neither before the declaration)', async () => {
    const emulator = await startEmulatorProcess(['--memory', '--max-body-bytes', '2048'], { EYEPOP_EMULATOR_SIGN_IN_RATE_LIMIT: '1' })
    try {
      // The legacy SDK's token route, which reads a JSON body.
      const body = (bytes: number) => ({
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ secret_key: 'x'.repeat(bytes) }),
      })
      // The flag: a body past 2 KB is refused as too large; below it, the key is read (and unknown).
      const large = await fetch(`${emulator.url}/authentication/token`, body(3000))
      expect(large.status).toBe(400)
      expect(await large.json()).toMatchObject({ error: 'invalid_request', error_description: 'request body is too large' })
      const small = await fetch(`${emulator.url}/authentication/token`, body(1000))
      expect(small.status).toBeGreaterThanOrEqual(400)
      expect(((await small.json()) as { error_description?: string }).error_description).not.toBe('request body is too large')
      // The variable: one sign-in start a minute.
      const first = await fetch(`${emulator.url}/dashboard/login`, { redirect: 'manual' })
      const second = await fetch(`${emulator.url}/dashboard/login`, { redirect: 'manual' })
      expect([first.status, second.status]).toEqual([303, 429])
    } finally {
      await emulator.stop()
    }
  })

  it('sets the server\'s timeouts from the options', async () => {
    const running = await startTestServer({ headersTimeoutMs: 4000, requestTimeoutMs: 20_000, keepAliveTimeoutMs: 1500 })
    try {
      expect([running.server.headersTimeout, running.server.requestTimeout, running.server.keepAliveTimeout]).toEqual([4000, 20_000, 1500])
    } finally {
      await running.close()
    }
    const defaults = await startTestServer()
    try {
      expect([defaults.server.headersTimeout, defaults.server.requestTimeout, defaults.server.keepAliveTimeout]).toEqual([
        OPTIONS.headersTimeoutMs.default,
        OPTIONS.requestTimeoutMs.default,
        OPTIONS.keepAliveTimeoutMs.default,
      ])
    } finally {
      await defaults.close()
    }
  })

  it('flushes audit events on their own interval, apart from key last-use times', async () => {
    const emulator = await createTestEmulator({ auditFlushMs: 10, lastUsedFlushMs: 60_000 })
    try {
      const { id, key } = await emulator.createKey('audited')
      await request(emulator.handler).post('/v1/auth/authenticate').set('Authorization', `Bearer ${key}`).expect(200)
      // The key's first use is in the audit log within moments; its last-use time waits a minute.
      await vi.waitFor(async () => {
        const events = await emulator.services.audit.list(emulator.accountId, { limit: 10 })
        expect(events.map((e) => e.type)).toContain('key.first_used')
      })
      expect((await emulator.services.keys.get(emulator.accountId, id)).lastUsedAt).toBeNull()
    } finally {
      await emulator.close()
    }
  })

  it('uses one variable and one flag per option', () => {
    const specs = OPTION_NAMES.map((name) => OPTIONS[name] as OptionSpec<unknown, boolean>)
    expect(new Set(specs.map((s) => s.env)).size).toBe(specs.length)
    expect(new Set(specs.map((s) => s.flag)).size).toBe(specs.length)
    for (const spec of specs) expect(spec.env).toMatch(/^EYEPOP_EMULATOR_[A-Z_]+$/)
  })
})

describe('resolveConfig()', () => {
  it('starts from the declared defaults, and a resolved config resolves to itself', () => {
    const resolved = resolveConfig()
    for (const name of OPTION_NAMES) expect(resolved[name], name).toEqual(OPTIONS[name].default)
    expect(resolved).toEqual(defaults)
    expect(resolveConfig(resolved)).toEqual(resolved)
  })

  it('refuses each integer option just outside its range, naming it', () => {
    const integers = OPTION_NAMES.filter((name) => typeof OPTIONS[name].default === 'number')
    expect(integers.length).toBeGreaterThan(10)
    for (const name of integers) {
      const spec = OPTIONS[name] as OptionSpec<number>
      const range = /from (\d+) to (\d+)/.exec(String(catchError(() => spec.check(name, -1))))!
      const [min, max] = [Number(range[1]), Number(range[2])]
      for (const bad of [min - 1, max + 1, min + 0.5, String(min)]) {
        expect(() => resolveConfig({ [name]: bad }), `${name} = ${bad}`).toThrow(
          new TypeError(`"${name}" must be an integer from ${min} to ${max}`),
        )
      }
      expect(spec.parse(String(min))).toBe(min)
      expect(() => spec.parse(String(max + 1))).toThrow(`must be an integer from ${min} to ${max}`)
    }
  })

  it('refuses a boolean option that is not a boolean, and reads its variable strictly', () => {
    for (const name of OPTION_NAMES.filter((n) => (OPTIONS[n] as OptionSpec<unknown, boolean>).boolean)) {
      expect(() => resolveConfig({ [name]: 'false' }), name).toThrow(new TypeError(`"${name}" must be a boolean`))
      const spec = OPTIONS[name] as OptionSpec<boolean>
      for (const text of ['false', '0', 'no', 'off', '']) expect(spec.parse(text), text).toBe(false)
      for (const text of ['true', '1', 'yes', 'on', ' TRUE ']) expect(spec.parse(text), text).toBe(true)
      expect(() => spec.parse('maybe')).toThrow('must be true or false')
    }
  })

  it('checks what one option cannot: a default temporary-key lifetime within the longest', () => {
    expect(() => resolveConfig({ temporaryKeyTtlSeconds: 3601 })).toThrow('"temporaryKeyTtlSeconds" must not exceed "temporaryKeyMaxTtlSeconds"')
    expect(resolveConfig({ temporaryKeyTtlSeconds: 3601, temporaryKeyMaxTtlSeconds: 7200 }).temporaryKeyTtlSeconds).toBe(3601)
  })

  it('checks the options that are not numbers or booleans', () => {
    expect(() => resolveConfig({ issuer: 'ftp://x' })).toThrow('"issuer" must be an http or https URL')
    expect(() => resolveConfig({ issuer: 'not a url' })).toThrow('"issuer" must be an absolute URL')
    expect(resolveConfig({ issuer: 'https://emulator.test/' }).issuer).toBe('https://emulator.test')
    expect(() => resolveConfig({ corsOrigins: ['https://a.test/path'] })).toThrow('"corsOrigins" must be a list of origins')
    expect(() => resolveConfig({ logLevel: 'loud' })).toThrow('"logLevel" must be one of fatal, error, warn, info, debug, trace, silent')
    expect(() => resolveConfig({ host: '' })).toThrow('"host" must be a non-empty string')
    expect(() => resolveConfig({ dataDir: '' })).toThrow('"dataDir" must be a folder path or null')
    expect(resolveConfig({ dataDir: null }).dataDir).toBeNull()
    expect(() => resolveConfig({ predictionsFile: '' })).toThrow('"predictionsFile" must be a file path')
    expect(resolveConfig({}).databaseUrl).toBeUndefined()
    for (const url of ['postgres://app:pw@db:5432/emulator', 'postgresql://db/emulator', 'postgres:///emulator?host=/run/postgresql']) {
      expect(resolveConfig({ databaseUrl: url }).databaseUrl).toBe(url)
    }
  })

  it('refuses a databaseUrl that is not a PostgreSQL URL without quoting it (it may hold a password)', async () => {
    for (const url of ['mysql://app:s3cret-9@db/emulator', 'postgres://app:s3cret-9@', 's3cret-9']) {
      const message = catchError(() => resolveConfig({ databaseUrl: url }))
      expect(message).toBe('"databaseUrl" must be a postgres:// or postgresql:// URL')
      const cli = buildCli().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} })
      const err = await cli.parseAsync(['node', 'eyepop-emulator', 'keys', 'list', '--database-url', url]).catch((e: unknown) => e)
      expect((err as Error).message).toBe("option '--database-url' (or EYEPOP_EMULATOR_DATABASE_URL) must be a postgres:// or postgresql:// URL")
    }
  })
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

describe('resolveConfig() once', () => {
  it('hands a config it resolved on as it is (frozen), and checks any other object', () => {
    const resolved = resolveConfig({ port: 0 })
    expect(Object.isFrozen(resolved)).toBe(true)
    expect(resolveConfig(resolved)).toBe(resolved)
    expect(() => resolveConfig({ ...resolved, port: -1 })).toThrow(/port/)
    const listening = withListenAddress(resolved, 41234, 'http://127.0.0.1:41234')
    expect(resolveConfig(listening)).toBe(listening)
    expect(listening).toMatchObject({ port: 41234, issuer: 'http://127.0.0.1:41234' })
    expect(() => withListenAddress(resolved, 70_000, 'http://127.0.0.1:70000')).toThrow(/port/)
  })
})
