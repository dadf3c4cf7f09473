/**
 * The processes a run starts: the emulator (through its own CLI, in production mode), the
 * baseline servers, the peer and the resource server. Each runs in its own process on 127.0.0.1.
 *
 * @module
 */
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { spawnServer, type ServerProcess } from './spawn-server.js'

/** The `eyepop-emulator` command as installed (`bin/eyepop-emulator.js` of the built `@eyepop/emulator`). */
export const EMULATOR_CLI = fileURLToPath(new URL('../bin/eyepop-emulator.js', import.meta.resolve('@eyepop/emulator')))

/**
 * The environment of a server: production mode, and none of the emulator's own variables (the
 * command line says everything).
 */
export function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('EYEPOP_EMULATOR_') && !name.startsWith('NODE_OPTIONS')) env[name] = value
  }
  env.NODE_ENV = 'production'
  return env
}

/** Options of {@link startEmulator}. */
export interface StartEmulatorOptions {
  name: string
  dataDir: string
  /**
   * A PostgreSQL database for the store instead of the data dir's SQLite file, given through
   * `EYEPOP_EMULATOR_DATABASE_URL` (a flag would show its password in the process list).
   */
  databaseUrl?: string
  /**
   * The public base URL (`--issuer`), the `iss` of its tokens. Several instances behind one
   * address share one, so that each accepts the others' tokens (the default is each one's own
   * `http://HOST:PORT`). The emulator then prints that URL, not where it listens: it is started on
   * a free port found here, and the server's `url` is that port's.
   */
  issuer?: string
  /** Write a CPU profile (`node --cpu-prof`) into this folder when the process exits. */
  cpuProfDir?: string
}

/** The emulator's `start` arguments (port 0, the default: the system picks a free one). */
export function emulatorStartArgs(dataDir: string, port = 0): string[] {
  return [EMULATOR_CLI, 'start', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn']
}

/** The pattern of the emulator's "listening" line; its group is the base URL. */
export const EMULATOR_READY = /listening on (http:\/\/\S+)/

/** A TCP port of 127.0.0.1 free at the moment (the system's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Starts the emulator through its CLI and resolves once it listens. */
export async function startEmulator(options: StartEmulatorOptions): Promise<ServerProcess> {
  if (options.issuer === undefined) return spawnEmulator(options, emulatorStartArgs(options.dataDir))
  const port = await freePort()
  const server = await spawnEmulator(options, [...emulatorStartArgs(options.dataDir, port), '--issuer', options.issuer])
  return { ...server, url: `http://127.0.0.1:${port}` }
}

function spawnEmulator(options: StartEmulatorOptions, args: string[]): Promise<ServerProcess> {
  return spawnServer({
    name: options.name,
    command: process.execPath,
    args: [...profileFlags(options.name, options.cpuProfDir), ...args],
    env: { ...serverEnv(), ...(options.databaseUrl !== undefined && { EYEPOP_EMULATOR_DATABASE_URL: options.databaseUrl }) },
    readyPattern: EMULATOR_READY,
  })
}

/** The bench's own servers, in `dist/servers/`. */
export type BenchServerScript = 'bare-http' | 'bare-express' | 'resource-server' | 'oauth2-peer'

/** The path of a bench server script. */
export function benchServerPath(script: BenchServerScript): string {
  return fileURLToPath(new URL(`./servers/${script}.js`, import.meta.url))
}

/** The node flags that write a CPU profile named `<name>.cpuprofile` into `dir` at exit. */
function profileFlags(name: string, dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}.cpuprofile`] : []
}

/** Starts one of the bench's servers and resolves once it listens. */
export function startBenchServer(
  name: string,
  script: BenchServerScript,
  args: string[] = [],
  cpuProfDir?: string,
): Promise<ServerProcess> {
  return spawnServer({
    name,
    command: process.execPath,
    args: [...profileFlags(name, cpuProfDir), benchServerPath(script), ...args],
    env: serverEnv(),
    readyPattern: /^READY (\S+)/,
  })
}
