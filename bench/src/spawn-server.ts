/**
 * Starts a server in its own process and waits for the line that says where it listens. Every
 * process started here is tracked, so the harness can stop what it started (and only that) on
 * exit or Ctrl-C.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

/** A server running in a child process. */
export interface ServerProcess {
  readonly name: string
  readonly pid: number
  /** The base URL, from the ready line. */
  readonly url: string
  readonly child: ChildProcess
  /** When the ready line arrived, in `performance.now()` milliseconds. */
  readonly readyAt: number
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and resolves once it exited. */
  stop(): Promise<void>
}

/** Options of {@link spawnServer}. */
export interface SpawnServerOptions {
  /** A short name for messages. */
  name: string
  /** The executable, usually `process.execPath`. */
  command: string
  args: string[]
  env?: NodeJS.ProcessEnv
  /** Matches the ready line on stdout; its first group is the base URL. */
  readyPattern: RegExp
  /** How long (in milliseconds) to wait for the ready line. Default is 30000. */
  timeoutMs?: number
}

const running = new Set<ChildProcess>()

/** Kills (SIGKILL) every child this module started that is still running. Synchronous. */
export function killAllSpawned(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  running.clear()
}

process.once('exit', killAllSpawned)

/** Waits for a child to exit, with a timeout (in milliseconds). */
function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/** Tracks a child so that {@link killAllSpawned} can stop it. */
export function track(child: ChildProcess): void {
  running.add(child)
  child.once('exit', () => running.delete(child))
}

/**
 * Runs a Node script to its end (tracked like the servers); rejects with what it wrote to stderr
 * if it exits with another code than 0.
 */
export async function runNodeScript(args: string[], what: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, args, { ...(env && { env }), stdio: ['ignore', 'ignore', 'pipe'] })
  track(child)
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (c) => resolve(c))
  })
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${stderr.trim()}`)
}

/**
 * Spawns a server and resolves once it printed its ready line.
 *
 * @example
 * ```ts
 * const server = await spawnServer({ name: 'bare-http', command: process.execPath,
 *   args: ['dist/servers/bare-http.js'], readyPattern: /^READY (\S+)/ })
 * ```
 */
export function spawnServer(options: SpawnServerOptions): Promise<ServerProcess> {
  const child = spawn(options.command, options.args, {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  track(child)
  const stderr: string[] = []
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    stderr.push(chunk)
    if (stderr.length > 50) stderr.shift()
  })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    if (!(await exited(child, 5000))) {
      child.kill('SIGKILL')
      await exited(child, 5000)
    }
  }
  return new Promise<ServerProcess>((resolve, reject) => {
    let settled = false
    const fail = (message: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      void stop()
      const detail = stderr.join('').trim().split('\n').slice(-10).join('\n')
      reject(new Error(`${options.name}: ${message}${detail ? `\n${detail}` : ''}`))
    }
    const timer = setTimeout(() => fail('no ready line in time'), options.timeoutMs ?? 30_000)
    child.once('error', (err) => fail(err.message))
    child.once('exit', (code, signal) => fail(`exited before it was ready (${signal ?? `code ${code}`})`))
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      if (settled) return
      const match = options.readyPattern.exec(line)
      if (!match) return
      settled = true
      clearTimeout(timer)
      resolve({
        name: options.name,
        pid: child.pid!,
        url: match[1]!,
        child,
        readyAt: performance.now(),
        stop,
      })
    })
  })
}
