/**
 * The processes a run starts: the emulator (through its own CLI, in production mode), the
 * baseline servers, the peer and the resource server. Each runs in its own process on 127.0.0.1.
 *
 * @module
 */
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
  /** Write a CPU profile (`node --cpu-prof`) into this folder when the process exits. */
  cpuProfDir?: string
}

/** The emulator's `start` arguments (port 0: the system picks a free one). */
export function emulatorStartArgs(dataDir: string): string[] {
  return [EMULATOR_CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn']
}

/** The pattern of the emulator's "listening" line; its group is the base URL. */
export const EMULATOR_READY = /listening on (http:\/\/\S+)/

/** Starts the emulator through its CLI and resolves once it listens. */
export function startEmulator(options: StartEmulatorOptions): Promise<ServerProcess> {
  return spawnServer({
    name: options.name,
    command: process.execPath,
    args: [...profileFlags(options.name, options.cpuProfDir), ...emulatorStartArgs(options.dataDir)],
    env: serverEnv(),
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
