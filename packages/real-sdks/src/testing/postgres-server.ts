/**
 * `@eyepop/real-sdks/testing/postgres-server`: a throwaway PostgreSQL server for the tests of both
 * PostgreSQL stores (auth-core's key store, the emulator's store): `initdb` into a temporary folder, `pg_ctl start` on
 * a free port of 127.0.0.1 (and a socket in the same folder), password authentication over TCP,
 * no fsync. As root, the server runs as the `postgres` user (PostgreSQL refuses root), which owns
 * the folder. Where PostgreSQL is not installed, starting fails with a message that says so: the
 * tests of the PostgreSQL stores fail then, they are never skipped.
 *
 * @module
 */
import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** A running throwaway server. */
export interface PostgresServer {
  /** Its TCP port on 127.0.0.1. */
  readonly port: number
  /** The password of its superuser `postgres`. */
  readonly password: string
  /**
   * A connection string to `database` over TCP with the password (or `password`), or with
   * `socket` over the Unix socket, where no password is asked (no exchange, faster to connect);
   * with `search_path` set to `schema` when given.
   */
  url(database: string, options?: { schema?: string; password?: string; socket?: boolean }): string
  /** Creates an empty database and resolves its name. */
  createDatabase(): Promise<string>
  /** Runs SQL in `database` as the superuser. */
  sql(database: string, text: string): Promise<pg.QueryResult>
  /** Stops the server (`pg_ctl stop -m fast`: open connections are closed). */
  stop(): Promise<void>
  /** Starts it again, on the same port. */
  start(): Promise<void>
  /** Stops it and removes its folder. */
  close(): Promise<void>
}

const MISSING =
  'PostgreSQL is not installed: the PostgreSQL stores\' tests need its server binaries (initdb, pg_ctl), ' +
  'found through `pg_config --bindir` or in /usr/lib/postgresql/<version>/bin (Debian: apt-get install -y postgresql)'

/** The folder of `initdb` and `pg_ctl`. */
function findBinaries(): string {
  const candidates: string[] = []
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim())
  } catch {
    // No pg_config on PATH: look where Debian puts the server.
  }
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => join(debian, v, 'bin')))
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
  if (!found) throw new Error(MISSING)
  return found
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** The uid and gid of `postgres`, to run the server as when this process is root. */
function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    return { uid, gid }
  } catch {
    throw new Error('PostgreSQL refuses to run as root and there is no user "postgres" to run it as (Debian\'s postgresql package creates it)')
  }
}

/**
 * Starts a throwaway server.
 *
 * @example
 * ```ts
 * import { startPostgresServer } from '@eyepop/real-sdks/testing/postgres-server'
 *
 * const server = await startPostgresServer()
 * const database = await server.createDatabase()
 * await server.sql(database, 'CREATE SCHEMA case_1')
 * const url = server.url(database, { schema: 'case_1', socket: true })
 * // ...
 * await server.close()
 * ```
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = findBinaries()
  const asRoot = process.getuid?.() === 0
  const base = mkdtempSync(join(tmpdir(), 'eyepop-pg-'))
  const data = join(base, 'data')
  const log = join(base, 'server.log')
  const password = `test-${Math.random().toString(36).slice(2)}`
  const pwfile = join(base, 'password')
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 })
  if (asRoot) {
    const { uid, gid } = postgresUser()
    chownSync(base, uid, gid)
    chownSync(pwfile, uid, gid)
  }
  /** Runs a server binary, as `postgres` when this process is root. */
  const pgRun = async (tool: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args]
    try {
      await run(file, argv, { timeout: 60_000 })
    } catch (err) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''
      throw new Error(`${tool} failed: ${(err as Error).message}\n${tail}`, { cause: err })
    }
  }

  await pgRun('initdb', ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-locale', '--no-sync'])
  const port = await freePort()
  const serverOptions = [
    `-p ${port}`,
    `-k ${base}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
  ].join(' ')
  const start = () => pgRun('pg_ctl', ['-D', data, '-l', log, '-o', serverOptions, '-w', '-t', '60', 'start'])
  const stop = () => pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'])
  await start()

  let databases = 0
  const url: PostgresServer['url'] = (database, options = {}) => {
    const params = new URLSearchParams()
    if (options.socket) params.set('host', base)
    if (options.schema) params.set('options', `-c search_path=${options.schema}`)
    const query = params.size > 0 ? `?${params.toString().replaceAll('+', '%20')}` : ''
    const credentials = options.socket ? 'postgres' : `postgres:${encodeURIComponent(options.password ?? password)}`
    return `postgres://${credentials}@127.0.0.1:${port}/${database}${query}`
  }
  // One connection per database for the tests' own SQL, kept open.
  const admins = new Map<string, pg.Pool>()
  const sql = (database: string, text: string) => {
    let admin = admins.get(database)
    if (!admin) {
      admin = new pg.Pool({ connectionString: url(database, { socket: true }), max: 1 })
      // A restart closes it: the pool connects anew on the next query.
      admin.on('error', () => {})
      admins.set(database, admin)
    }
    return admin.query(text)
  }

  return {
    port,
    password,
    url,
    sql,
    async createDatabase() {
      const name = `test_${process.pid}_${++databases}`
      await sql('postgres', `CREATE DATABASE ${name}`)
      return name
    },
    stop,
    start,
    async close() {
      await Promise.all([...admins.values()].map((admin) => admin.end()))
      await stop().catch(() => {})
      rmSync(base, { recursive: true, force: true })
    },
  }
}
