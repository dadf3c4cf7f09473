import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { errors, type Clock } from '@eyepop/auth-core'
import { defaults } from '../config/defaults.js'
import { InvalidInput } from './errors.js'
import { checkName } from './keys.js'
import { hashPassword, PASSWORD_MAX_LENGTH, validatePassword, verifyPassword } from './passwords.js'
import type { AccountRecord, EmulatorStore } from '../store/types.js'

/** The password of the default development account unless `defaultPassword` says otherwise. */
export const DEFAULT_PASSWORD = defaults.defaultPassword

/**
 * The development account every store has from its first start. Development only: its password
 * is public (it is printed at start).
 */
export const DEFAULT_ACCOUNT = Object.freeze({
  email: 'dev@eyepop.local',
  name: 'Development account',
  password: DEFAULT_PASSWORD,
})

/**
 * The default development account, created on first use with `password` (default
 * {@link DEFAULT_PASSWORD}); an existing account without a password (from a store made before
 * sign-in existed) gets it too. A password already set is kept. Safe when the emulator and the
 * CLI open a new data dir at the same time: the account id is settled through `setIfAbsent`.
 */
export async function ensureDefaultAccount(
  store: EmulatorStore,
  now: number,
  password: string = DEFAULT_ACCOUNT.password,
): Promise<AccountRecord> {
  const id = await store.settings.setIfAbsent('default_account_id', randomUUID())
  let account = await store.accounts.get(id)
  if (!account) {
    const { email, name } = DEFAULT_ACCOUNT
    try {
      await store.accounts.create({ id, email, name, createdAt: now, passwordHash: await hashPassword(password) })
    } catch (err) {
      if (!(err instanceof errors.Conflict)) throw err
    }
    account = await store.accounts.get(id)
    if (!account) throw new errors.Conflict(`another account already uses ${DEFAULT_ACCOUNT.email}`)
  }
  if (account.passwordHash === null) {
    await store.accounts.setPasswordHash(id, await hashPassword(password))
    account = (await store.accounts.get(id))!
  }
  return account
}

/** An account as shown to people and printed by the CLI: never its password hash. */
export interface AccountView {
  id: string
  email: string
  name: string
  createdAt: string
}

/** The view of an account record. */
export function toAccountView(record: AccountRecord): AccountView {
  return { id: record.id, email: record.email, name: record.name, createdAt: new Date(record.createdAt).toISOString() }
}

/** What creates an account. */
export interface CreateAccountInput {
  /** The sign-in email, unique (case-insensitive). */
  email: unknown
  /** The sign-in password, 8 to 200 characters. Secret: only its hash is stored. */
  password: unknown
  /** A display name, 1 to 100 characters. */
  name: unknown
  /** The account id (a UUID). Default: a new one. */
  id?: unknown
}

/** Accounts and password sign-in for one store, shared by the HTTP app and the CLI. */
export interface AccountService {
  /**
   * Creates an account with a password.
   *
   * @throws {InvalidInput} for a bad email, password, name or id (the message says which rule)
   * @throws {errors.Conflict} when the email (or the id) is already taken
   */
  create(input: CreateAccountInput): Promise<AccountView>
  /** Every account, oldest first. */
  list(): Promise<AccountView[]>
  /** The account with this id, if any. */
  get(id: string): Promise<AccountView | undefined>
  /** The account with this email (case-insensitive), if any. */
  findByEmail(email: string): Promise<AccountView | undefined>
  /**
   * The account whose email and password match, else `undefined`. It takes the same time whether
   * or not the email exists, so it cannot be used to find out which emails have accounts.
   */
  authenticate(email: unknown, password: unknown): Promise<AccountRecord | undefined>
}

/** The longest email address (RFC 5321 path limit). */
const EMAIL_MAX_LENGTH = 254
/** A local part without spaces or `@`, and a host name of letters, digits and hyphens. */
const EMAIL_SHAPE = /^[^\s@]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A valid sign-in email (trimmed), or `InvalidInput` saying which rule it breaks. */
export function checkEmail(email: unknown): string {
  if (typeof email !== 'string') throw new InvalidInput('email must be a string')
  const trimmed = email.trim()
  // eslint-disable-next-line no-control-regex
  if (trimmed.length > EMAIL_MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(trimmed) || !EMAIL_SHAPE.test(trimmed)) {
    throw new InvalidInput('email must be an address such as name@example.com')
  }
  return trimmed
}

/** A valid account id (a lowercase UUID), or `InvalidInput`. */
export function checkAccountId(id: unknown): string {
  if (typeof id !== 'string' || !UUID_SHAPE.test(id)) {
    throw new InvalidInput('id must be a lowercase UUID such as 3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b')
  }
  return id
}

/**
 * A hash of a random password nobody knows, with the cost of real hashes: checking a password
 * against it takes as long as checking a real account's, so an unknown email is not faster.
 */
const DUMMY_PASSWORD_HASH =
  'scrypt$16384$8$1$37sHKT96UTtWkagZTmk9Aw$JdF82zpPxRYDtgPbZK8xK_5Y_McT67WOC_JOP4jfCCQFYUTiL09GJNRS3TZbzUVQARAeuJ2PJSMZ8sjlmse0sw'

/** Creates the account service. */
export function createAccountService(deps: { store: EmulatorStore; now: Clock }): AccountService {
  const { store, now } = deps

  return {
    async create(input) {
      const email = checkEmail(input.email)
      const password = validatePassword(input.password)
      const name = checkName(input.name)
      const id = input.id === undefined ? randomUUID() : checkAccountId(input.id)
      const taken = () => new errors.Conflict(`an account with the email ${email} already exists`)
      if (await store.accounts.findByEmail(email)) throw taken()
      const record: AccountRecord = { id, email, name, createdAt: now(), passwordHash: await hashPassword(password) }
      try {
        await store.accounts.create(record)
      } catch (err) {
        if (!(err instanceof errors.Conflict)) throw err
        // Another writer may have taken the email meanwhile; otherwise it is the id.
        if (await store.accounts.findByEmail(email)) throw taken()
        throw new errors.Conflict(`an account with the id ${id} already exists`, { cause: err })
      }
      return toAccountView(record)
    },
    async list() {
      return (await store.accounts.list()).map(toAccountView)
    },
    async get(id) {
      const record = await store.accounts.get(id)
      return record && toAccountView(record)
    },
    async findByEmail(email) {
      const record = await store.accounts.findByEmail(email)
      return record && toAccountView(record)
    },
    async authenticate(email, password) {
      if (typeof email !== 'string' || typeof password !== 'string') return undefined
      // Too long to be a password (200 characters are at most 400 UTF-16 units): refused before
      // any lookup, so it says nothing about the email, and never hashed.
      if (password.length > PASSWORD_MAX_LENGTH * 2) return undefined
      const account = await store.accounts.findByEmail(email.trim())
      const matches = await verifyPassword(password, account?.passwordHash ?? DUMMY_PASSWORD_HASH)
      return account && account.passwordHash !== null && matches ? account : undefined
    },
  }
}

/** The accounts of an accounts file that were created, and how many already existed. */
export interface LoadAccountsFileResult {
  created: AccountView[]
  existing: number
}

/**
 * Creates the accounts of an accounts file that do not exist yet (matched by email); existing
 * accounts are left as they are. The file is a JSON array of `{ email, password, name, id? }`.
 * Development only: the file holds passwords in clear.
 *
 * Every entry is checked before any account is created, so a bad file changes nothing.
 *
 * @throws {TypeError} naming the file and the entry when the file cannot be read or an entry
 *   breaks a rule
 * @example
 * ```ts
 * await loadAccountsFile('accounts.json', services.accounts)
 * ```
 */
export async function loadAccountsFile(path: string, service: AccountService): Promise<LoadAccountsFileResult> {
  let entries: unknown
  try {
    entries = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new TypeError(`cannot read the accounts file ${path}: ${(err as Error).message}`, { cause: err })
  }
  if (!Array.isArray(entries)) {
    throw new TypeError(`the accounts file ${path} must hold a JSON array of { email, password, name, id? }`)
  }
  const seen = new Set<string>()
  const inputs = entries.map((entry: unknown, index): CreateAccountInput & { email: string } => {
    const where = `the accounts file ${path}, entry ${index}`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new TypeError(`${where} must be an object { email, password, name, id? }`)
    }
    const { email, password, name, id } = entry as Record<string, unknown>
    try {
      const checked = checkEmail(email)
      validatePassword(password)
      checkName(name)
      if (id !== undefined) checkAccountId(id)
      if (seen.has(checked.toLowerCase())) throw new InvalidInput(`email ${checked} appears twice`)
      seen.add(checked.toLowerCase())
      return { email: checked, password, name, ...(id !== undefined && { id }) }
    } catch (err) {
      throw new TypeError(`${where}: ${(err as Error).message}`, { cause: err })
    }
  })
  const result: LoadAccountsFileResult = { created: [], existing: 0 }
  for (const input of inputs) {
    if (await service.findByEmail(input.email)) {
      result.existing++
      continue
    }
    try {
      result.created.push(await service.create(input))
    } catch (err) {
      // Another emulator on the same database, started at the same moment with the same file,
      // created it first: it exists, as this start wants.
      if (err instanceof errors.Conflict && (await service.findByEmail(input.email))) {
        result.existing++
        continue
      }
      throw new TypeError(`the accounts file ${path}: cannot create ${input.email}: ${(err as Error).message}`, { cause: err })
    }
  }
  return result
}
