import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The installed command, which runs the built bundle (`npm test` builds first). */
export const CLI = fileURLToPath(new URL('../../bin/eyepop-emulator.js', import.meta.url))

/** Runs a CLI command to completion, with `env` added to this process's environment. */
export function runCli(
  args: string[],
  cwd?: string,
  env: Record<string, string> = {},
  input = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env } })
    // Standard input is a pipe, not a terminal: `input`, then its end. A command that exits
    // without reading it (EPIPE) is judged by its exit code and output, not by the pipe.
    child.stdin.on('error', () => {})
    child.stdin.end(input)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

/** Runs a CLI command that prints JSON, and parses it. */
export async function runCliJson<T>(args: string[]): Promise<T> {
  const result = await runCli([...args, '--json'])
  if (result.code !== 0) throw new Error(`eyepop-emulator ${args.join(' ')} failed: ${result.stderr}`)
  return JSON.parse(result.stdout) as T
}

/** A started emulator process. */
export interface EmulatorProcess {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
  stop(): Promise<void>
}

/**
 * Starts `eyepop-emulator start --port 0` (with `env` added to this process's environment) and
 * resolves once it prints its URL.
 */
export function startEmulatorProcess(args: string[], env: Record<string, string> = {}): Promise<EmulatorProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--log-level', 'warn', ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`emulator did not start:\n${output}`))
    }, 20_000)
    const onData = (d: Buffer) => {
      output += d
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve({
          url: match[1]!,
          child,
          output: () => output,
          stop: () =>
            new Promise<void>((done) => {
              // Ended already: with an exit code, or by a signal (a test's kill -9).
              if (child.exitCode !== null || child.signalCode !== null) return done()
              // One that does not end on SIGTERM within 10 s is killed, and the test goes on.
              const kill = setTimeout(() => child.kill('SIGKILL'), 10_000)
              child.once('exit', () => {
                clearTimeout(kill)
                done()
              })
              child.kill('SIGTERM')
            }),
        })
      }
    }
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (d: Buffer) => (output += d))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`emulator exited with ${code}:\n${output}`))
    })
  })
}
