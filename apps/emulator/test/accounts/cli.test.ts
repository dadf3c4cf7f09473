import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccountService, type AccountView } from '../../src/services/accounts.js'
import { runCli, runCliJson, startEmulatorProcess } from '../e2e/process.js'
import { createSqliteEmulatorStore } from '../../src/store/sqlite-store.js'
import { startTestServer } from '../helpers.js'

/**
 * `eyepop-emulator accounts create|list` on a temporary data dir, through the built CLI
 * (`npx turbo run build --filter=@eyepop/emulator` first), and the sign-in line of `start`.
 */

let dataDir: string

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'emulator-accounts-cli-'))
})

afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const inDir = (...args: string[]) => [...args, '--data-dir', dataDir]

describe('eyepop-emulator accounts list', () => {
  it('lists the default account of a new data dir, as JSON without any password hash', async () => {
    const list = await runCliJson<AccountView[]>(inDir('accounts', 'list'))
    expect(list).toEqual([
      { id: expect.any(String), email: 'dev@eyepop.local', name: 'Development account', createdAt: expect.any(String) },
    ])
  })
})

describe('eyepop-emulator accounts create', () => {
  it('creates an account that can sign in with its password, and prints no hash', async () => {
    const id = '3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b'
    const created = await runCliJson<AccountView>(
      inDir('accounts', 'create', '--email', 'ada@example.com', '--password', 'analytical engine', '--name', 'Ada', '--id', id),
    )
    expect(created).toEqual({ id, email: 'ada@example.com', name: 'Ada', createdAt: expect.any(String) })

    const store = createSqliteEmulatorStore({ filename: join(dataDir, 'emulator.db') })
    try {
      const accounts = createAccountService({ store, now: Date.now })
      expect(await accounts.authenticate('ada@example.com', 'analytical engine')).toMatchObject({ id })
      expect(await accounts.authenticate('ada@example.com', 'wrong password')).toBeUndefined()
    } finally {
      await store.close()
    }
  })

  it('prints a sentence without --json, and the table lists every account', async () => {
    const result = await runCli(inDir('accounts', 'create', '--email', 'grace@example.com', '--password', 'compiler-1952', '--name', 'Grace'))
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Created account grace@example\.com \([0-9a-f-]{36}\)\.\n$/)

    const table = await runCli(inDir('accounts', 'list'))
    expect(table.code).toBe(0)
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID\s+EMAIL\s+NAME\s+CREATED$/)
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/)[1])).toEqual(['dev@eyepop.local', 'ada@example.com', 'grace@example.com'])
    expect(table.stdout).not.toContain('scrypt')
    expect(table.stdout).not.toContain('compiler-1952')
  })

  it('reads the password from standard input with --password-stdin, so it never shows in the process list', async () => {
    const created = await runCli(
      inDir('accounts', 'create', '--email', 'lin@example.com', '--password-stdin', '--name', 'Lin', '--json'),
      undefined,
      {},
      'from a pipe, with spaces\n',
    )
    expect(created.code).toBe(0)
    const { id } = JSON.parse(created.stdout) as AccountView
    const store = createSqliteEmulatorStore({ filename: join(dataDir, 'emulator.db') })
    try {
      const accounts = createAccountService({ store, now: Date.now })
      expect(await accounts.authenticate('lin@example.com', 'from a pipe, with spaces')).toMatchObject({ id })
    } finally {
      await store.close()
    }
  })

  it('asks on the terminal without either flag, and says what to do when there is none', async () => {
    const result = await runCli(inDir('accounts', 'create', '--email', 'nobody@example.com', '--name', 'Nobody'))
    expect(result.code).toBe(1)
    expect(result.stderr.trim()).toBe('error: no terminal to ask for the password on: pipe it with --password-stdin')
    const both = await runCli(inDir('accounts', 'create', '--email', 'nobody@example.com', '--name', 'N', '--password', 'password1', '--password-stdin'))
    expect(both.code).toBe(1)
    expect(both.stderr).toMatch(/cannot be used with/)
  })

  it('refuses a too-short password from standard input like any other', async () => {
    const result = await runCli(inDir('accounts', 'create', '--email', 'short@example.com', '--password-stdin', '--name', 'S'), undefined, {}, 'short\n')
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/password/)
  })

  describe('with an email that already has an account', () => {
    it('exits 1 with a clear error and creates nothing', async () => {
      const result = await runCli(inDir('accounts', 'create', '--email', 'ADA@example.com', '--password', 'password1', '--name', 'Again'))
      expect(result.code).toBe(1)
      expect(result.stderr.trim()).toBe('error: an account with the email ADA@example.com already exists')
      expect(await runCliJson<AccountView[]>(inDir('accounts', 'list'))).toHaveLength(4)
    })
  })

  describe('with bad input', () => {
    it.each([
      [['--email', 'not-an-email', '--password', 'password1', '--name', 'X'], 'error: email must be an address such as name@example.com'],
      [['--email', 'x@example.com', '--password', 'short', '--name', 'X'], 'error: password must be 8 to 200 characters long'],
      [['--email', 'x@example.com', '--password', 'password1', '--name', 'X', '--id', 'nope'], /^error: id must be a lowercase UUID/],
    ])('exits 1 and says which rule was broken (%j)', async (args, message) => {
      const result = await runCli(inDir('accounts', 'create', ...args))
      expect(result.code).toBe(1)
      expect(result.stderr.trim()).toMatch(message)
      // The password given is never echoed.
      expect(result.stderr).not.toContain(args[3]!)
    })

    it('requires --email and --name', async () => {
      const result = await runCli(inDir('accounts', 'create', '--email', 'x@example.com', '--password', 'password1'))
      expect(result.code).not.toBe(0)
      expect(result.stderr).toMatch(/required option '--name <name>' not specified/)
      const noEmail = await runCli(inDir('accounts', 'create', '--name', 'X', '--password', 'password1'))
      expect(noEmail.stderr).toMatch(/required option '--email <email>' not specified/)
    })
  })
})

describe('eyepop-emulator --version', () => {
  it('prints the version of the installed package', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag])
      expect(result.code).toBe(0)
      expect(result.stdout.trim()).toBe(version)
    }
  })
})

describe('eyepop-emulator start', () => {
  it('prints how to sign in to the dashboard with the development account', async () => {
    const emulator = await startEmulatorProcess(['--data-dir', dataDir])
    try {
      const deadline = Date.now() + 10_000
      while (!emulator.output().includes('sign in:') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(emulator.output()).toContain(
        `  sign in:  ${emulator.url}/dashboard as dev@eyepop.local / eyepop-dev (development only)\n`,
      )
    } finally {
      await emulator.stop()
    }
  })
})

describe('eyepop-emulator start, a boolean option from its environment variable', () => {
  /** Whether the started emulator takes an API key from a browser (an `Origin` header). */
  async function takesBrowserApiKeys(env: Record<string, string>, args: string[] = []): Promise<boolean> {
    const emulator = await startEmulatorProcess(['--memory', ...args], env)
    try {
      const res = await fetch(`${emulator.url}/v1/auth/authenticate`, {
        method: 'POST',
        headers: { Authorization: 'Bearer eyp_PactExampleKeyNotARealSecret000000000000000035NmlG', Origin: 'http://localhost:3000' },
      })
      // Taken: the key is then checked (401, unknown); refused: 403 before any check.
      return res.status !== 403
    } finally {
      await emulator.stop()
    }
  }

  it('reads false, 0, no and empty as false, and true, 1 and yes as true', async () => {
    const variable = 'EYEPOP_EMULATOR_ALLOW_BROWSER_API_KEYS'
    for (const value of ['false', '0', 'no', '']) expect(await takesBrowserApiKeys({ [variable]: value }), value).toBe(false)
    for (const value of ['true', '1', 'yes']) expect(await takesBrowserApiKeys({ [variable]: value }), value).toBe(true)
    expect(await takesBrowserApiKeys({}, ['--allow-browser-api-keys'])).toBe(true)
    expect(await takesBrowserApiKeys({}, ['--allow-browser-api-keys', 'false'])).toBe(false)
  }, 60_000) // nine emulator processes, one after another

  it('refuses a value it does not recognise, naming the option', async () => {
    const result = await runCli(['start', '--memory', '--port', '0'], undefined, { EYEPOP_EMULATOR_ALLOW_BROWSER_API_KEYS: 'maybe' })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/allow-browser-api-keys.*must be true or false/)
  })
})

describe('eyepop-emulator keys create and the key limit, beside a running emulator on one SQLite file', () => {
  // End to end, with real processes; that the count waits for another connection's insert is
  // shown deterministically in auth-core's SQLite store tests.
  it('holds --max-keys-per-account when the command and the server create keys at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emulator-key-limit-'))
    const running = await startTestServer({ dataDir: dir, maxKeysPerAccount: 4 })
    try {
      const { services } = running.emulator
      const accountId = services.defaultAccount.id
      const cli = Array.from({ length: 4 }, (_, i) =>
        runCli(['keys', 'create', '--name', `cli ${i}`, '--max-keys-per-account', '4', '--json', '--data-dir', dir]),
      )
      // The server's creations go on while the commands start, open the file and create theirs.
      const server: Array<'created' | 'refused'> = []
      const done = Promise.all(cli)
      let finished = false
      void done.finally(() => (finished = true))
      while (!finished && server.length < 40) {
        server.push(
          await services.keys.create(accountId, { name: `server ${server.length}` }).then(
            () => 'created' as const,
            (err: { kind?: string }) => {
              if (err.kind !== 'limit_exceeded') throw err
              return 'refused' as const
            },
          ),
        )
        // About the time a command takes to start: some places go to each side.
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
      const results = await done
      for (const result of results.filter((r) => r.code !== 0)) {
        expect(result.stderr).toContain('this account has reached its limit of 4 api keys; delete one first')
      }
      const byCli = results.filter((r) => r.code === 0).length
      const byServer = server.filter((r) => r === 'created').length
      expect(byCli + byServer, `${byCli} by the command, ${byServer} by the server`).toBe(4)
      expect(await services.keys.list(accountId)).toHaveLength(4)
    } finally {
      await running.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reads the limit from --max-keys-per-account or its variable, as start does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emulator-key-limit-'))
    try {
      expect((await runCli(['keys', 'create', '--name', 'one', '--data-dir', dir, '--max-keys-per-account', '1'])).code).toBe(0)
      const refused = await runCli(['keys', 'create', '--name', 'two', '--data-dir', dir], undefined, { EYEPOP_EMULATOR_MAX_KEYS_PER_ACCOUNT: '1' })
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('this account has reached its limit of 1 api keys; delete one first')
      expect((await runCli(['keys', 'create', '--name', 'two', '--data-dir', dir])).code).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
