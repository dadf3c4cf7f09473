/**
 * `eyepop-emulator`: start the emulator, and manage keys and Pops in its data dir. Commands that
 * manage keys and Pops open the same SQLite file as a running emulator (or, with `--database-url`,
 * the same PostgreSQL database as every emulator on it), which sees the change at once (a deleted
 * key stops working within a second).
 */
import { homedir } from 'node:os'
import { relative, resolve, join } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { read } from 'read'
import { issuerOf } from '../config/schema.js'
import { DATABASE_FILENAME, DEFAULT_DATA_DIR, type EmulatorConfig } from '../config/defaults.js'
import { MEMORY_FLAG, OPTION_NAMES, OPTIONS, type OptionName, type OptionSpec } from '../config/options.js'
import type { AccountView } from '../services/accounts.js'
import { DEFAULT_KEY_EXPIRY, KEY_EXPIRY_CHOICES, type KeyView } from '../services/keys.js'
import { verifyPassword } from '../services/passwords.js'
import { openServices, type Services } from '../services/services.js'
import { openStore } from '../store/open.js'
import { PACKAGE_VERSION } from '../package-info.js'

/** Reads a flag's text with `parse`, turning its error into commander's, which names the flag. */
function argParser<T>(parse: (text: string) => T) {
  return (text: string): T => {
    try {
      return parse(text)
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message)
    }
  }
}

/**
 * Reads a secret option's text with `parse`, failing with a message that names the flag and its
 * variable but never quotes the text (commander's message for an invalid value would).
 */
function secretArgParser<T>(spec: OptionSpec<T, boolean>) {
  return (text: string): T => {
    try {
      return spec.parse(text)
    } catch (err) {
      throw new Error(`option '${spec.flag}' (or ${spec.env}) ${(err as Error).message}`)
    }
  }
}

/** The `start` option of an entry of {@link OPTIONS}, as declared there. */
function startOption(name: OptionName): Option {
  const spec: OptionSpec<unknown, boolean> = OPTIONS[name]
  const option = new Option(spec.boolean ? `${spec.flag} [boolean]` : `${spec.flag} <${spec.valueName}>`, spec.help)
    .env(spec.env)
    .argParser(spec.secret ? secretArgParser(spec) : argParser(spec.parse))
  if (spec.boolean) option.preset('true')
  if (spec.default !== undefined) option.default(spec.default, spec.defaultText)
  return option
}

/** `--data-dir` of the commands that open the store. */
const dataDirOption = () => startOption('dataDir')

/** `--database-url` of the commands that open the store: when given, the store is there, not in `--data-dir`. */
const databaseUrlOption = () => startOption('databaseUrl')

/**
 * Runs `fn` with the services of the store at `databaseUrl` or else in `dataDir` (and the key limit
 * of `maxKeysPerAccount`, when the command takes it), closing the store afterwards.
 */
async function withServices<T>(
  where: { dataDir: string; databaseUrl?: string; maxKeysPerAccount?: number },
  fn: (services: Services) => Promise<T>,
): Promise<T> {
  const store = await openStore({ dataDir: where.dataDir, databaseUrl: where.databaseUrl })
  try {
    return await fn(await openServices(store, Date.now, { maxKeysPerAccount: where.maxKeysPerAccount }))
  } finally {
    await store.close()
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd())
}

function keyRow(k: KeyView): string[] {
  return [k.id, k.name, `…${k.hint}`, k.createdAt, k.expiresAt ?? 'never', k.lastUsedAt ?? '-', k.status]
}

/** The password piped to standard input: its first line, without the line break. */
async function passwordFromStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? ''
}

/** Asks for a new password twice on the terminal, without showing it. */
async function promptPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new Error('no terminal to ask for the password on: pipe it with --password-stdin')
  }
  const password = await read({ prompt: 'Password: ', silent: true, replace: '*', output: process.stderr })
  const again = await read({ prompt: 'Password again: ', silent: true, replace: '*', output: process.stderr })
  if (password !== again) throw new Error('the two passwords differ')
  return password
}

export function buildCli(): Command {
  const program = new Command('eyepop-emulator')
    .description('A local EyePop.ai OAuth and key-management emulator')
    .version(PACKAGE_VERSION, '-V, --version', 'print the version')
    .showHelpAfterError()

  const start = program.command('start').description('start the emulator')
  const startOptions = OPTION_NAMES.map((name) => {
    const option = startOption(name)
    start.addOption(name === 'dataDir' || name === 'databaseUrl' ? option.conflicts('memory') : option)
    return [name, option.attributeName()] as const
  })
  start
    .addOption(new Option(MEMORY_FLAG.flag, MEMORY_FLAG.help))
    .action(async (opts: Record<string, unknown>) => {
      const dataDir = opts.memory ? null : (opts.dataDir as string)
      // Loaded here so that the key and Pop commands do not load the OAuth server.
      const { startServer } = await import('../main.js')
      // Checked again, with the defaults, by resolveConfig: as from code.
      const config = Object.fromEntries(startOptions.map(([name, attribute]) => [name, opts[attribute]]))
      const running = await startServer({ ...(config as Partial<EmulatorConfig>), dataDir })
      const { url, emulator } = running
      const databaseUrl = config.databaseUrl as string | undefined
      // The PostgreSQL store's description names the database without the password.
      const where =
        databaseUrl !== undefined
          ? emulator.services.store.description
          : dataDir === null
            ? 'in memory (lost on exit)'
            : relative(process.cwd(), join(resolve(dataDir), DATABASE_FILENAME)) || DATABASE_FILENAME
      // The address it was bound to, which differs from the issuer when --issuer names a proxy.
      const bound = issuerOf({ ...emulator.config, issuer: undefined })
      console.log(`EyePop emulator listening on ${bound}`)
      console.log(`  store:    ${where}`)
      console.log(`  account:  ${emulator.services.defaultAccount.email} (${emulator.services.defaultAccount.id})`)
      console.log(`  issuer:   ${url}/.well-known/openid-configuration`)
      const { defaultAccount } = emulator.services
      // A password set on an earlier start is kept: only print the configured one if it works.
      const password = emulator.config.defaultPassword
      const signInWith =
        defaultAccount.passwordHash !== null && (await verifyPassword(password, defaultAccount.passwordHash))
          ? password
          : '(the password set when this data dir was created)'
      console.log(`  sign in:  ${url}/dashboard as ${defaultAccount.email} / ${signInWith} (development only)`)
      console.log('')
      console.log('Point the EyePop SDK at it (or set EYEPOP_URL):')
      console.log(`  Node 3.x:   EyePop.workerEndpoint({ eyepopUrl: '${url}', apiKey: process.env.EYEPOP_API_KEY, pop: { components: [] } })`)
      console.log(`  Python 3.x: EyePopSdk.sync_worker(eyepop_url='${url}', api_key=os.environ['EYEPOP_API_KEY'])`)
      console.log(`  Node 1.x:   EyePop.workerEndpoint({ eyepopUrl: '${url}', auth: { secretKey: process.env.EYEPOP_SECRET_KEY }, popId })`)
      if (databaseUrl !== undefined) {
        console.log('Create a key and a Pop (with EYEPOP_EMULATOR_DATABASE_URL set as for this emulator):')
        console.log('  npx eyepop-emulator keys create --name "My server"')
        console.log('  npx eyepop-emulator pops create --name "My Pop"')
      } else if (dataDir !== null) {
        const dirFlag = dataDir === DEFAULT_DATA_DIR ? '' : ` --data-dir ${dataDir}`
        console.log('Create a key and a Pop:')
        console.log(`  npx eyepop-emulator keys create --name "My server"${dirFlag}`)
        console.log(`  npx eyepop-emulator pops create --name "My Pop"${dirFlag}`)
      }
      let stopping = false
      const stop = () => {
        if (stopping) return
        stopping = true
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        )
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      // oidc-provider loads in the background: an emulator without it is not one.
      emulator.ready.catch(() => {
        console.error('error: the OAuth provider failed to load (see the log above)')
        running.close().finally(() => process.exit(1))
      })
    })

  program
    .command('login')
    .description('sign the command line in to an emulator with the device flow (RFC 8628)')
    .addOption(new Option('--url <url>', 'the emulator').env('EYEPOP_EMULATOR_URL').default('http://127.0.0.1:8700'))
    .addOption(new Option('--credentials <file>', 'where to save the token').default(join(homedir(), '.eyepop-emulator', 'credentials.json')))
    .action(async (opts) => {
      const { deviceLogin } = await import('./login.js')
      const saved = await deviceLogin({
        url: opts.url,
        credentialsFile: opts.credentials,
        prompt: (uri, code, complete) => {
          console.log(`Open ${uri} and enter the code ${code}`)
          console.log(`(or open ${complete})`)
          console.log('Waiting for you to sign in…')
        },
      })
      console.log(`Signed in as ${saved.account.email}. Token saved to ${opts.credentials} (valid until ${new Date(saved.expiresAt).toISOString()}).`)
    })

  const keys = program.command('keys').description('manage API keys of the default account')
  keys
    .command('create')
    .description('create an API key; it is printed once and never again')
    .requiredOption('--name <name>', 'a memorable name')
    .addOption(new Option('--expires <when>', 'when the key expires').choices([...KEY_EXPIRY_CHOICES]).default(DEFAULT_KEY_EXPIRY))
    .option('--json', 'print JSON')
    .addOption(dataDirOption())
    .addOption(databaseUrlOption())
    .addOption(startOption('maxKeysPerAccount'))
    .action(async (opts) => {
      const created = await withServices(opts, (s) =>
        s.keys.create(s.defaultAccount.id, { name: opts.name, expires: opts.expires }),
      )
      if (opts.json) {
        console.log(JSON.stringify(created, null, 2))
        return
      }
      console.log(`Created API key "${created.name}" (${created.id}), expires ${created.expiresAt ?? 'never'}.`)
      console.log('Copy it now: it will not be shown again.')
      console.log('')
      console.log(created.key)
    })
  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .option('--json', 'print JSON')
    .addOption(dataDirOption())
    .addOption(databaseUrlOption())
    .action(async (opts) => {
      const list = await withServices(opts, (s) => s.keys.list(s.defaultAccount.id))
      if (opts.json) {
        console.log(JSON.stringify(list, null, 2))
        return
      }
      if (list.length === 0) {
        console.log('No API keys. Create one with: eyepop-emulator keys create --name NAME')
        return
      }
      printTable([['ID', 'NAME', 'HINT', 'CREATED', 'EXPIRES', 'LAST USED', 'STATUS'], ...list.map(keyRow)])
    })
  keys
    .command('delete')
    .description('delete an API key; its tokens stop working within a second')
    .argument('<id>', 'the key id (key_…)')
    .option('--json', 'print JSON')
    .addOption(dataDirOption())
    .addOption(databaseUrlOption())
    .action(async (id: string, opts) => {
      await withServices(opts, (s) => s.keys.delete(s.defaultAccount.id, id))
      if (opts.json) console.log(JSON.stringify({ id, deleted: true }))
      else console.log(`Deleted API key ${id}.`)
    })

  const pops = program.command('pops').description('manage Pops of the default account')
  pops
    .command('create')
    .description('create a Pop')
    .requiredOption('--name <name>', 'the Pop name')
    .option('--json', 'print JSON')
    .addOption(dataDirOption())
    .addOption(databaseUrlOption())
    .action(async (opts) => {
      const pop = await withServices(opts, (s) => s.pops.create(s.defaultAccount.id, { name: opts.name }))
      if (opts.json) console.log(JSON.stringify(pop, null, 2))
      else console.log(`Created Pop "${pop.name}": ${pop.id}`)
    })
  pops
    .command('list')
    .description('list Pops')
    .option('--json', 'print JSON')
    .addOption(dataDirOption())
    .addOption(databaseUrlOption())
    .action(async (opts) => {
      const list = await withServices(opts, (s) => s.pops.list(s.defaultAccount.id))
      if (opts.json) {
        console.log(JSON.stringify(list, null, 2))
        return
      }
      if (list.length === 0) {
        console.log('No Pops. Create one with: eyepop-emulator pops create --name NAME')
        return
      }
      printTable([['ID', 'NAME', 'CREATED'], ...list.map((p) => [p.id, p.name, p.createdAt])])
    })

  const accounts = program.command('accounts').description('manage development accounts (sign-in email and password)')
  accounts
    .command('create')
    .description('create an account that can sign in to the dashboard (development only)')
    .requiredOption('--email <email>', 'the sign-in email')
    .option('--password-stdin', 'read the sign-in password (8 to 200 characters) from standard input, e.g. a pipe')
    .addOption(new Option('--password <password>', 'the sign-in password on the command line (it shows in the process list and the shell history: prefer the prompt or --password-stdin)').conflicts('passwordStdin'))
    .requiredOption('--name <name>', 'a display name')
    .option('--id <uuid>', 'the account id (default: a new UUID)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nWithout --password or --password-stdin, the password is asked for on the terminal (not shown).')
    .addOption(dataDirOption())
    .addOption(databaseUrlOption())
    .action(async (opts) => {
      const password: string = opts.password ?? (opts.passwordStdin ? await passwordFromStdin() : await promptPassword())
      const account = await withServices(opts, (s) =>
        s.accounts.create({ email: opts.email, password, name: opts.name, id: opts.id }),
      )
      if (opts.json) console.log(JSON.stringify(account, null, 2))
      else console.log(`Created account ${account.email} (${account.id}).`)
    })
  accounts
    .command('list')
    .description('list accounts (never their passwords)')
    .option('--json', 'print JSON')
    .addOption(dataDirOption())
    .addOption(databaseUrlOption())
    .action(async (opts) => {
      const list = await withServices(opts, (s) => s.accounts.list())
      if (opts.json) {
        console.log(JSON.stringify(list, null, 2))
        return
      }
      printTable([['ID', 'EMAIL', 'NAME', 'CREATED'], ...list.map((a: AccountView) => [a.id, a.email, a.name, a.createdAt])])
    })

  return program
}
