/**
 * A project of its own, outside the repository, with the packed packages installed from their
 * tarballs: what a user gets from `npm install`, without the workspace's links.
 */
import { spawn, type SpawnOptions } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeSdkV3Tarball } from '@eyepop/real-sdks'

/** The packages this check packs, by name. */
export const PACKED = ['@eyepop/auth-core', '@eyepop/emulator'] as const

/** The files copied into the project (its scripts, tests and tsconfigs). */
const FIXTURE = fileURLToPath(new URL('../project/', import.meta.url))
const require = createRequire(import.meta.url)

/** A command's outcome. */
export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * The environment of commands run in the project: this one's, without what npm sets for the
 * workspace's own scripts (which would make the project's npm act on the workspace) nor the
 * SDK's variables (the tests name their emulator themselves).
 */
export function projectEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  for (const name of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_|config_(workspace|workspaces|local_prefix|prefix|global_prefix)$)/i.test(name) || name === 'INIT_CWD' || name.startsWith('EYEPOP_')) {
      delete env[name]
    }
  }
  return env
}

/** Runs a command to completion; never throws on a non-zero exit (the caller asserts it). */
export function run(command: string, args: string[], options: SpawnOptions & { cwd: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: projectEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...options })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => (stdout += d))
    child.stderr!.on('data', (d: Buffer) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** Runs a command and returns its standard output; throws with its output when it fails. */
export async function runOk(command: string, args: string[], options: SpawnOptions & { cwd: string }): Promise<string> {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) exited with ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`.trimEnd())
  }
  return result.stdout
}

/** The folder of a workspace package (through the workspace's link). */
export function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`))
}

/** The version of a package installed in the workspace: the project asks npm for the same. */
function workspaceVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version
}

/** `npm pack`s a workspace package into `dest`; returns the tarball's path. */
async function pack(name: string, dest: string): Promise<string> {
  const out = await runOk('npm', ['pack', '--json', '--pack-destination', dest], { cwd: packageDir(name) })
  const [{ filename }] = JSON.parse(out) as Array<{ filename: string }>
  return join(dest, filename!)
}

/** An installed project in a temporary folder. */
export interface InstalledProject {
  /** The project's folder (outside the repository). */
  readonly dir: string
  /** The tarballs installed, by package name. */
  readonly tarballs: Readonly<Record<(typeof PACKED)[number], string>>
  /** Deletes the project and the tarballs. */
  remove(): void
}

/**
 * Packs both packages, writes a project with its own package.json in a new temporary folder, and
 * `npm install`s the two tarballs, the real EyePop Node SDK's tarball, pg and @types/pg (the
 * optional peers of `@eyepop/auth-core/postgres`, which a user of that subpath installs), vitest,
 * typescript and @types/node (the workspace's versions, so npm finds them in its cache).
 */
export async function createInstalledProject(): Promise<InstalledProject> {
  const root = mkdtempSync(join(tmpdir(), 'eyepop-install-check-'))
  const remove = () => rmSync(root, { recursive: true, force: true })
  try {
    const dir = join(root, 'project')
    cpSync(FIXTURE, dir, { recursive: true })
    const tarballs = {
      '@eyepop/auth-core': await pack('@eyepop/auth-core', root),
      '@eyepop/emulator': await pack('@eyepop/emulator', root),
    }
    const manifest = {
      name: 'eyepop-install-check',
      private: true,
      type: 'module',
      dependencies: {
        '@eyepop/auth-core': `file:${tarballs['@eyepop/auth-core']}`,
        '@eyepop/emulator': `file:${tarballs['@eyepop/emulator']}`,
        '@eyepop.ai/eyepop': `file:${nodeSdkV3Tarball()}`,
        pg: workspaceVersion('pg'),
      },
      devDependencies: Object.fromEntries(['vitest', 'typescript', '@types/node', '@types/pg'].map((name) => [name, workspaceVersion(name)])),
    }
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    await runOk('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir })
    return { dir, tarballs, remove }
  } catch (err) {
    remove()
    throw err
  }
}

/** The `version` of a package.json. */
export function versionOf(packageJson: string): string {
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version
}

/** A started `eyepop-emulator start`, in a process group of its own. */
export interface StartedCommand {
  readonly url: string
  /**
   * Sends SIGTERM to the group (npx forwards no signal to the emulator: its shell would die and
   * leave the emulator running), then waits until the emulator stops answering; after 10 s it
   * kills the group and throws.
   */
  stop(): Promise<void>
}

/** Whether something answers discovery at `url`. */
function serves(url: string): Promise<boolean> {
  return fetch(`${url}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(1000) }).then(
    async (res) => {
      await res.body?.cancel()
      return true
    },
    () => false,
  )
}

/**
 * Starts `npx eyepop-emulator start …` in `cwd` and resolves once it prints its URL. It runs in a
 * process group of its own (npx, the shell it uses, node), so that stopping it stops them all.
 */
export function startCommand(cwd: string, args: string[], timeoutMs = 30_000): Promise<StartedCommand> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no', '--', 'eyepop-emulator', 'start', ...args], { cwd, env: projectEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const exited = new Promise<void>((done) => child.once('exit', () => done()))
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal)
      } catch {
        // The group has ended.
      }
    }
    let output = ''
    let started = false
    const timer = setTimeout(() => {
      kill('SIGKILL')
      reject(new Error(`eyepop-emulator start did not print its URL in ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const stop = async (url: string) => {
      kill('SIGTERM')
      await exited
      for (const deadline = Date.now() + 10_000; await serves(url); ) {
        if (Date.now() > deadline) {
          kill('SIGKILL')
          throw new Error(`the emulator still answered 10 s after SIGTERM:\n${output}`)
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    // Read to the end, so that the emulator never blocks on a full pipe.
    child.stdout!.on('data', (d: Buffer) => {
      output += d
      const match = started ? null : /listening on (http:\/\/\S+)/.exec(output)
      if (!match) return
      started = true
      clearTimeout(timer)
      const url = match[1]!
      resolve({ url, stop: () => stop(url) })
    })
    child.stderr!.on('data', (d: Buffer) => (output += d))
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`eyepop-emulator start exited (${code ?? signal}) before printing its URL:\n${output}`))
    })
  })
}
