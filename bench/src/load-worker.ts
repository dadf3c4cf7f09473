/**
 * The load generator's process: runs autocannon against one URL and prints JSON lines on stdout:
 * `{"event":"start"}` when the recorded run's connections open and `{"event":"done","result":…}`
 * at its end, so the harness can read the server's CPU time over exactly the loaded interval. An
 * unrecorded warm-up, when the spec asks for one, runs first with the same requests.
 *
 * Usage: `node dist/load-worker.js <spec.json>` (a {@link LoadSpec}).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import autocannon, { type AutocannonRequest } from 'autocannon'
import { build as buildHistogram } from 'hdr-histogram-js'

/** What one load run sends. `{{value}}` in the path, a header value or the body is replaced. */
export interface LoadSpec {
  /** The server's base URL (`http://127.0.0.1:PORT`). */
  url: string
  connections: number
  /** Seconds; autocannon stops at the next whole-second tick after it. */
  durationSeconds: number
  /**
   * Seconds of unrecorded load just before the recorded run (0 or absent: none). A server that sat
   * idle while other runs went on starts slower for a second or so; so does this process.
   */
  warmupSeconds?: number
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
  /**
   * A JSON file holding an array of strings: each request takes the next one in turn (shared by
   * all connections) in place of `{{value}}`, e.g. 1,000 distinct API keys.
   */
  valuesFile?: string
}

/** What a load run measured, as the worker prints it. */
export interface LoadWorkerResult {
  durationSeconds: number
  /** Completed requests (any status). */
  requests: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  /**
   * Latency of the 2xx responses, in milliseconds to the microsecond (autocannon's own figures
   * are whole milliseconds, too coarse to compare a 12 ms p99 within 10%).
   */
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number }
}

const PLACEHOLDER = '{{value}}'

function main(): void {
  const specFile = process.argv[2]
  if (!specFile) throw new TypeError('usage: load-worker <spec.json>')
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec
  const values = spec.valuesFile ? (JSON.parse(readFileSync(spec.valuesFile, 'utf8')) as string[]) : undefined
  const base: AutocannonRequest = {
    method: spec.method,
    path: spec.path,
    headers: spec.headers ?? {},
    ...(spec.body !== undefined && { body: spec.body }),
  }
  if (values && values.length > 0) {
    // One counter for all connections (and for the warm-up and the recorded run): the values are
    // used in turn across the whole run.
    let next = 0
    const fill = (text: string, value: string) => text.replaceAll(PLACEHOLDER, value)
    base.setupRequest = (req) => {
      const value = values[next++ % values.length]!
      const headers: Record<string, string> = {}
      for (const [name, v] of Object.entries(spec.headers ?? {})) headers[name] = fill(v, value)
      return {
        ...req,
        path: fill(spec.path, value),
        headers,
        ...(spec.body !== undefined && { body: fill(spec.body, value) }),
      }
    }
  }
  const load = (durationSeconds: number) =>
    ({ url: spec.url, connections: spec.connections, duration: durationSeconds, timeout: 10, requests: [base] })
  const record = () => {
    // Microseconds, 3 significant digits (0.1% error), up to a minute.
    const latencyUs = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
    const ms = (us: number) => Math.round(us) / 1000
    const instance = autocannon(
      load(spec.durationSeconds),
      (err, result) => {
        if (err) {
          process.stderr.write(`${err.message}\n`)
          process.exitCode = 1
          return
        }
        const statusCodes: Record<string, number> = {}
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count
        const out: LoadWorkerResult = {
          durationSeconds: result.duration,
          requests: result.requests.total,
          ok: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes,
          latencyMs: {
            p50: ms(latencyUs.getValueAtPercentile(50)),
            p90: ms(latencyUs.getValueAtPercentile(90)),
            p99: ms(latencyUs.getValueAtPercentile(99)),
            mean: ms(latencyUs.mean),
            max: ms(latencyUs.maxValue),
          },
        }
        process.stdout.write(`${JSON.stringify({ event: 'done', result: out })}\n`)
      },
    )
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      if (statusCode >= 200 && statusCode < 300) latencyUs.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)))
    })
    instance.once('start', () => process.stdout.write(`${JSON.stringify({ event: 'start' })}\n`))
  }

  if (spec.warmupSeconds && spec.warmupSeconds > 0) {
    autocannon(load(spec.warmupSeconds), (err) => {
      if (err) {
        process.stderr.write(`warm-up failed: ${err.message}\n`)
        process.exitCode = 1
        return
      }
      record()
    })
  } else {
    record()
  }
}

main()
