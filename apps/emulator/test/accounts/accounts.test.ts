import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/schema.js'
import {
  createAccountService,
  DEFAULT_ACCOUNT,
  ensureDefaultAccount,
  loadAccountsFile,
  type AccountService,
} from '../../src/services/accounts.js'
import { hashPassword, verifyPassword } from '../../src/services/passwords.js'
import { openServices } from '../../src/services/services.js'
import type { EmulatorStore } from '../../src/store/types.js'
import { createMemoryEmulatorStore } from '../../src/store/memory-store.js'

/** Development accounts: creation rules, password sign-in, the default account and the accounts file. */

const T0 = Date.UTC(2025, 0, 15, 12)
const ID = '3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b'

let store: EmulatorStore
let accounts: AccountService

beforeEach(() => {
  store = createMemoryEmulatorStore({ now: () => T0 })
  accounts = createAccountService({ store, now: () => T0 })
})

describe('createAccountService()', () => {
  describe('create()', () => {
    it('creates an account whose password is stored only as a hash, and shows no hash', async () => {
      const view = await accounts.create({ email: ' Ada@Example.com ', password: 'analytical engine', name: 'Ada' })
      expect(view).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: 'Ada@Example.com',
        name: 'Ada',
        createdAt: new Date(T0).toISOString(),
      })
      const record = (await store.accounts.get(view.id))!
      expect(record.passwordHash).toMatch(/^scrypt\$/)
      expect(record.passwordHash).not.toContain('analytical engine')
      expect(await verifyPassword('analytical engine', record.passwordHash!)).toBe(true)
    })

    it('keeps a given id', async () => {
      expect((await accounts.create({ email: 'a@example.com', password: 'password1', name: 'A', id: ID })).id).toBe(ID)
    })

    describe('with an email that already has an account', () => {
      it('refuses it in any case with ERR_CONFLICT and a message that says so', async () => {
        await accounts.create({ email: 'ada@example.com', password: 'password1', name: 'Ada' })
        await expect(
          accounts.create({ email: 'ADA@example.com', password: 'password2', name: 'Other' }),
        ).rejects.toMatchObject({ code: 'ERR_CONFLICT', message: 'an account with the email ADA@example.com already exists' })
        expect(await accounts.list()).toHaveLength(1)
      })
    })

    it('refuses an id that is taken with ERR_CONFLICT', async () => {
      await accounts.create({ email: 'a@example.com', password: 'password1', name: 'A', id: ID })
      await expect(
        accounts.create({ email: 'b@example.com', password: 'password1', name: 'B', id: ID }),
      ).rejects.toMatchObject({ code: 'ERR_CONFLICT', message: `an account with the id ${ID} already exists` })
    })

    describe('with bad input', () => {
      const good = { email: 'a@example.com', password: 'password1', name: 'A' }
      it.each([
        ['an email without @', { email: 'example.com' }, /^email must be/],
        ['an email with a space', { email: 'a b@example.com' }, /^email must be/],
        ['an email with two @', { email: 'a@b@example.com' }, /^email must be/],
        ['an email with an empty host label', { email: 'a@example..com' }, /^email must be/],
        ['an email that is too long', { email: `${'a'.repeat(60)}@${'b'.repeat(200)}.com` }, /^email must be/],
        ['an email that is not a string', { email: 42 }, /^email must be/],
        ['a password that is too short', { password: 'seven77' }, /^password must be 8 to 200/],
        ['a password that is too long', { password: 'p'.repeat(201) }, /^password must be 8 to 200/],
        ['a missing password', { password: undefined }, /^password must be a string/],
        ['an empty name', { name: '  ' }, /^name must not be empty/],
        ['an id that is not a UUID', { id: 'acct-1' }, /^id must be a lowercase UUID/],
      ])('refuses %s with invalid_request', async (_what, override, message) => {
        await expect(accounts.create({ ...good, ...override })).rejects.toMatchObject({
          kind: 'invalid_input',
          message: expect.stringMatching(message),
        })
        expect(await accounts.list()).toEqual([])
      })
    })
  })

  describe('list()', () => {
    it('lists accounts oldest first, without password hashes', async () => {
      let clock = T0
      const timed = createAccountService({ store, now: () => clock++ })
      await timed.create({ email: 'a@example.com', password: 'password1', name: 'A' })
      await timed.create({ email: 'b@example.com', password: 'password2', name: 'B' })
      const list = await accounts.list()
      expect(list.map((a) => a.email)).toEqual(['a@example.com', 'b@example.com'])
      expect(JSON.stringify(list)).not.toContain('scrypt')
    })
  })

  describe('authenticate()', () => {
    beforeEach(async () => {
      await accounts.create({ email: 'ada@example.com', password: 'analytical engine', name: 'Ada', id: ID })
    })

    it('resolves the account for the right email (in any case) and password', async () => {
      expect(await accounts.authenticate('ada@example.com', 'analytical engine')).toMatchObject({ id: ID })
      expect(await accounts.authenticate(' ADA@example.com ', 'analytical engine')).toMatchObject({ id: ID })
    })

    it('resolves undefined for a wrong password, an unknown email or input that is not text', async () => {
      expect(await accounts.authenticate('ada@example.com', 'analytical engin')).toBeUndefined()
      expect(await accounts.authenticate('nobody@example.com', 'analytical engine')).toBeUndefined()
      expect(await accounts.authenticate('ada@example.com', '')).toBeUndefined()
      expect(await accounts.authenticate('ada@example.com', 'x'.repeat(10_000))).toBeUndefined()
      expect(await accounts.authenticate(undefined, 'analytical engine')).toBeUndefined()
      expect(await accounts.authenticate('ada@example.com', { toString: () => 'analytical engine' })).toBeUndefined()
    })

    it('resolves undefined for an account without a password, whatever is tried', async () => {
      await store.accounts.create({ id: 'nopass', email: 'np@example.com', name: 'N', createdAt: T0, passwordHash: null })
      expect(await accounts.authenticate('np@example.com', 'analytical engine')).toBeUndefined()
    })

    it('takes about as long for an unknown email as for a wrong password (it still runs scrypt)', async () => {
      const once = async (email: string) => {
        const start = performance.now()
        await accounts.authenticate(email, 'wrong password')
        return performance.now() - start
      }
      // Alternated, so that a change in the machine's load falls on both kinds of call alike.
      const knownSamples: number[] = []
      const unknownSamples: number[] = []
      for (let i = 0; i < 5; i++) {
        knownSamples.push(await once('ada@example.com'))
        unknownSamples.push(await once('nobody@example.com'))
      }
      const median = (samples: number[]) => samples.sort((a, b) => a - b)[2]!
      const known = median(knownSamples)
      const unknown = median(unknownSamples)
      expect(unknown).toBeGreaterThan(known / 3)
      expect(known).toBeGreaterThan(unknown / 3)
    })
  })
})

describe('ensureDefaultAccount()', () => {
  it('creates dev@eyepop.local with the development password eyepop-dev', async () => {
    const account = await ensureDefaultAccount(store, T0)
    expect(account).toMatchObject({ email: 'dev@eyepop.local', name: DEFAULT_ACCOUNT.name, createdAt: T0 })
    expect(DEFAULT_ACCOUNT.password).toBe('eyepop-dev')
    expect(await accounts.authenticate('dev@eyepop.local', 'eyepop-dev')).toMatchObject({ id: account.id })
  })

  it('uses a configured password instead', async () => {
    await ensureDefaultAccount(store, T0, 'configured-secret')
    expect(await accounts.authenticate('dev@eyepop.local', 'configured-secret')).toBeDefined()
    expect(await accounts.authenticate('dev@eyepop.local', 'eyepop-dev')).toBeUndefined()
  })

  it('gives the password to a default account from before sign-in existed, and keeps one already set', async () => {
    const id = await store.settings.setIfAbsent('default_account_id', ID)
    await store.accounts.create({ id, email: 'dev@eyepop.local', name: 'Dev', createdAt: T0, passwordHash: null })
    expect((await ensureDefaultAccount(store, T0)).passwordHash).toMatch(/^scrypt\$/)
    expect(await accounts.authenticate('dev@eyepop.local', 'eyepop-dev')).toMatchObject({ id: ID })

    await store.accounts.setPasswordHash(ID, await hashPassword('changed-later'))
    await ensureDefaultAccount(store, T0, 'eyepop-dev')
    expect(await accounts.authenticate('dev@eyepop.local', 'changed-later')).toMatchObject({ id: ID })
  })

  it('settles on one account when opened twice at once', async () => {
    const [a, b] = await Promise.all([ensureDefaultAccount(store, T0), ensureDefaultAccount(store, T0)])
    expect(a.id).toBe(b.id)
    expect(await store.accounts.list()).toHaveLength(1)
  })
})

describe('openServices()', () => {
  it('exposes the account service and gives the default account the configured password', async () => {
    const services = await openServices(store, () => T0, { defaultPassword: 'from-config' })
    expect(await services.accounts.authenticate('dev@eyepop.local', 'from-config')).toMatchObject({
      id: services.defaultAccount.id,
    })
  })
})

describe('loadAccountsFile()', () => {
  let dir: string
  let count = 0
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'emulator-accounts-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  function file(contents: unknown): string {
    const path = join(dir, `accounts-${++count}.json`)
    writeFileSync(path, typeof contents === 'string' ? contents : JSON.stringify(contents))
    return path
  }

  it('creates the accounts that are missing, by email, and leaves existing ones as they are', async () => {
    await accounts.create({ email: 'ada@example.com', password: 'original-password', name: 'Ada' })
    const path = file([
      { email: 'ADA@example.com', password: 'another-password', name: 'Ada again' },
      { email: 'grace@example.com', password: 'compiler-1952', name: 'Grace', id: ID },
      { email: 'linus@example.com', password: 'kernel-1991', name: 'Linus' },
    ])
    const result = await loadAccountsFile(path, accounts)
    expect(result.existing).toBe(1)
    expect(result.created.map((a) => a.email)).toEqual(['grace@example.com', 'linus@example.com'])
    expect(result.created[0]!.id).toBe(ID)
    expect(await accounts.authenticate('grace@example.com', 'compiler-1952')).toMatchObject({ id: ID })
    expect(await accounts.authenticate('ada@example.com', 'original-password')).toBeDefined()
    expect(await accounts.authenticate('ada@example.com', 'another-password')).toBeUndefined()

    const again = await loadAccountsFile(path, accounts)
    expect(again).toEqual({ created: [], existing: 3 })
    expect(await accounts.list()).toHaveLength(3)
  })

  it('accepts an empty array', async () => {
    expect(await loadAccountsFile(file([]), accounts)).toEqual({ created: [], existing: 0 })
  })

  describe('with a bad file', () => {
    it.each([
      ['a missing file', null, /cannot read the accounts file/],
      ['invalid JSON', '[{"email":', /cannot read the accounts file/],
      ['an object instead of an array', { email: 'a@example.com' }, /must hold a JSON array/],
      ['an entry that is not an object', ['a@example.com'], /entry 0 must be an object/],
      [
        'a bad entry after good ones',
        [
          { email: 'ok@example.com', password: 'password1', name: 'OK' },
          { email: 'bad@example.com', password: 'short', name: 'Bad' },
        ],
        /entry 1: password must be 8 to 200 characters long$/,
      ],
      [
        'an email twice',
        [
          { email: 'twice@example.com', password: 'password1', name: 'One' },
          { email: 'Twice@example.com', password: 'password2', name: 'Two' },
        ],
        /entry 1: email Twice@example.com appears twice/,
      ],
      ['a bad id', [{ email: 'a@example.com', password: 'password1', name: 'A', id: 'nope' }], /entry 0: id must be/],
    ])('fails with a TypeError naming the file (%s) and creates nothing', async (_what, contents, message) => {
      const path = contents === null ? join(dir, 'missing.json') : file(contents)
      const err = await loadAccountsFile(path, accounts).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TypeError)
      expect((err as Error).message).toContain(path)
      expect((err as Error).message).toMatch(message)
      expect((err as Error).message).not.toContain('password1')
      expect(await accounts.list()).toEqual([])
    })
  })
})

describe('configuration', () => {
  it('defaults to the development password, 20 keys per account and no accounts file', () => {
    expect(resolveConfig()).toMatchObject({ defaultPassword: 'eyepop-dev', maxKeysPerAccount: 20 })
    expect(resolveConfig().accountsFile).toBeUndefined()
    expect(resolveConfig({ accountsFile: 'accounts.json' }).accountsFile).toBe('accounts.json')
  })

  it.each([
    [{ defaultPassword: 'short' }, '"defaultPassword" must be a string of 8 to 200 characters'],
    [{ defaultPassword: 'x'.repeat(201) }, '"defaultPassword" must be a string of 8 to 200 characters'],
    [{ accountsFile: '' }, '"accountsFile" must be a file path'],
    [{ maxKeysPerAccount: 0 }, '"maxKeysPerAccount" must be an integer from 1 to 10000'],
    [{ maxKeysPerAccount: 10_001 }, '"maxKeysPerAccount" must be an integer from 1 to 10000'],
    [{ maxKeysPerAccount: 2.5 }, '"maxKeysPerAccount" must be an integer from 1 to 10000'],
  ])('refuses %o at startup', (input, message) => {
    expect(() => resolveConfig(input)).toThrow(new TypeError(message))
  })
})
