import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { pythonSdk } from '@eyepop/real-sdks'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'

/** What a flow of `python/flows.py` answered: its result, or the SDK's exception as a user sees it. */
export type FlowAnswer = { ok: true; result: unknown } | { ok: false; error: string }

/** The real Python SDK in a process of its own, running the flows of `python/flows.py` one at a time. */
export interface PythonSdk {
  run(flow: string, args: Record<string, unknown>): Promise<FlowAnswer>
  /** What the SDK logged (stderr), for failure messages. */
  log(): string
  close(): Promise<void>
}

/** Starts `python/flows.py` with the real Python SDK 3.25.0 (installed by `@eyepop/real-sdks`). */
export function startPythonSdk(): PythonSdk {
  const { python } = pythonSdk()
  // The SDK's own environment variables would change what it does: cleared.
  const env = clearEyePopEnv({ ...process.env })
  const child: ChildProcessWithoutNullStreams = spawn(python, [fileURLToPath(new URL('./python/flows.py', import.meta.url))], {
    env: { ...env, PYTHONUNBUFFERED: '1' },
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    // The last 64 KiB are enough to explain a failure.
    stderr = (stderr + d.toString()).slice(-65_536)
  })
  const waiting = new Map<number, (answer: FlowAnswer) => void>()
  let exited: string | undefined
  createInterface({ input: child.stdout }).on('line', (line) => {
    let parsed: FlowAnswer & { id: number }
    try {
      parsed = JSON.parse(line) as FlowAnswer & { id: number }
    } catch {
      // Not an answer (something the SDK printed): kept with the log that explains a failure.
      stderr = (stderr + `stdout: ${line}\n`).slice(-65_536)
      return
    }
    const { id, ...answer } = parsed
    waiting.get(id)?.(answer)
    waiting.delete(id)
  })
  const end = (why: string) => {
    exited = `the Python SDK process ${why}:\n${stderr}`
    for (const settle of waiting.values()) settle({ ok: false, error: exited })
    waiting.clear()
  }
  // A write after the process ended (EPIPE): its exit, below, settles every flow still waiting.
  child.stdin.on('error', () => {})
  child.on('error', (err) => end(`failed: ${err.message}`))
  child.on('exit', (code, signal) => end(`exited (${code ?? signal})`))
  let next = 0
  return {
    run(flow, args) {
      if (exited) return Promise.resolve({ ok: false, error: exited })
      const id = next++
      return new Promise((resolve) => {
        waiting.set(id, resolve)
        child.stdin.write(`${JSON.stringify({ id, flow, args })}\n`)
      })
    },
    log: () => stderr,
    close() {
      // Ended already, with an exit code or by a signal (or it never started).
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve()
      return new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.stdin.end()
      })
    },
  }
}
