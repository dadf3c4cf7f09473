/**
 * The load generator's process: runs autocannon against one URL (or several instances of one
 * service at once), or against two or three in alternating slices, and prints JSON lines on
 * stdout: `{"event":"start","side":k}` when a recorded slice's connections open, `{"event":"stop","side":k}` when it ends (so the harness can read each
 * server's CPU time over exactly the loaded intervals), and `{"event":"done","results":[…]}` with
 * every side's figures at the end. An unrecorded warm-up, when a side asks for one, runs before the
 * first slice with the same requests.
 *
 * Usage: `node dist/load-worker.js <spec.json>` (a {@link LoadPlan}).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon'
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js'
import { sliceOrder, type LoadPlan, type LoadSpec, type LoadWorkerResult } from './load-plan.js'

const PLACEHOLDER = '{{value}}'

/** The request of a side, with one value counter for all its connections, warm-up and slices. */
function requestOf(spec: LoadSpec): AutocannonRequest {
  const values = spec.valuesFile ? (JSON.parse(readFileSync(spec.valuesFile, 'utf8')) as string[]) : undefined
  const base: AutocannonRequest = {
    method: spec.method,
    path: spec.path,
    headers: spec.headers ?? {},
    ...(spec.body !== undefined && { body: spec.body }),
  }
  if (values && values.length > 0) {
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
  return base
}

interface Side {
  spec: LoadSpec
  request: AutocannonRequest
  /** Microseconds, 3 significant digits (0.1% error), up to a minute. */
  latencyUs: Histogram
  tally: Omit<LoadWorkerResult, 'latencyMs'>
}

/** What one load of a side counted, over all its servers. */
interface LoadCount {
  /** Seconds, the longest of its servers' (they run at once). */
  duration: number
  total: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
}

/** Runs autocannon once against one server; `onResponse` sees every response, `onStart` the open connections. */
function loadOne(
  url: string,
  connections: number,
  request: AutocannonRequest,
  seconds: number,
  hooks: { onResponse?: (statusCode: number, ms: number) => void; onStart?: () => void },
): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      // Sampled every 100 ms, so that a run stops within 0.1 s of its duration, not at the next whole second.
      { url, connections, duration: seconds, sampleInt: 100, timeout: 10, requests: [request] },
      (err, result) => (err ? reject(err) : resolve(result)),
    )
    const { onResponse, onStart } = hooks
    if (onResponse) instance.on('response', (_c: unknown, statusCode: number, _b: number, ms: number) => onResponse(statusCode, ms))
    if (onStart) instance.once('start', onStart)
  })
}

/**
 * Runs a side's load once: against its server, or against each of its servers at once with the
 * connections split evenly (a copy of the request each, sharing one value counter). `onStart` is
 * called once every server's connections are open.
 */
async function load(
  side: Side,
  seconds: number,
  hooks: { onResponse?: (statusCode: number, ms: number) => void; onStart?: () => void } = {},
): Promise<LoadCount> {
  const urls = typeof side.spec.url === 'string' ? [side.spec.url] : side.spec.url
  if (urls.length === 0 || urls.length > side.spec.connections) throw new RangeError('a load needs one URL or more, and a connection for each')
  let starting = urls.length
  const onStart = hooks.onStart && (() => --starting === 0 && hooks.onStart!())
  const results = await Promise.all(
    urls.map((url, i) => {
      const connections = Math.floor(side.spec.connections / urls.length) + (i < side.spec.connections % urls.length ? 1 : 0)
      return loadOne(url, connections, { ...side.request }, seconds, { ...(hooks.onResponse && { onResponse: hooks.onResponse }), ...(onStart && { onStart }) })
    }),
  )
  const count: LoadCount = { duration: 0, total: 0, ok: 0, non2xx: 0, errors: 0, timeouts: 0, statusCodes: {} }
  for (const result of results) {
    count.duration = Math.max(count.duration, result.duration)
    count.total += result.requests.total
    count.ok += result['2xx']
    count.non2xx += result.non2xx
    count.errors += result.errors
    count.timeouts += result.timeouts
    for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) count.statusCodes[code] = (count.statusCodes[code] ?? 0) + stat.count
  }
  return count
}

const print = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`)

async function main(): Promise<void> {
  const specFile = process.argv[2]
  if (!specFile) throw new TypeError('usage: load-worker <plan.json>')
  const plan = JSON.parse(readFileSync(specFile, 'utf8')) as LoadPlan
  const order = sliceOrder(plan.sides.length, plan.slices)
  const sides: Side[] = plan.sides.map((spec) => ({
    spec,
    request: requestOf(spec),
    latencyUs: buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 }),
    tally: { durationSeconds: 0, requests: 0, ok: 0, non2xx: 0, errors: 0, timeouts: 0, statusCodes: {}, sliceRps: [] },
  }))
  // Warm-ups last side first, so the side of the first slice is the one warmed last.
  for (const side of [...sides].reverse()) {
    if (side.spec.warmupSeconds && side.spec.warmupSeconds > 0) await load(side, side.spec.warmupSeconds)
  }
  for (const index of order) {
    const side = sides[index]!
    const result = await load(side, side.spec.durationSeconds / plan.slices, {
      onStart: () => print({ event: 'start', side: index }),
      onResponse: (statusCode, ms) => {
        if (statusCode >= 200 && statusCode < 300) side.latencyUs.recordValue(Math.max(1, Math.round(ms * 1000)))
      },
    })
    print({ event: 'stop', side: index })
    const t = side.tally
    t.durationSeconds += result.duration
    t.requests += result.total
    t.ok += result.ok
    t.non2xx += result.non2xx
    t.errors += result.errors
    t.timeouts += result.timeouts
    for (const [code, n] of Object.entries(result.statusCodes)) t.statusCodes[code] = (t.statusCodes[code] ?? 0) + n
    t.sliceRps.push(result.duration > 0 ? Math.round(result.total / result.duration) : 0)
  }
  const ms = (us: number) => Math.round(us) / 1000
  const results: LoadWorkerResult[] = sides.map(({ tally, latencyUs }) => ({
    ...tally,
    latencyMs: {
      p50: ms(latencyUs.getValueAtPercentile(50)),
      p90: ms(latencyUs.getValueAtPercentile(90)),
      p99: ms(latencyUs.getValueAtPercentile(99)),
      mean: ms(latencyUs.mean),
      max: ms(latencyUs.maxValue),
    },
  }))
  print({ event: 'done', results })
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.message ?? String(err)}\n`)
  process.exitCode = 1
})
