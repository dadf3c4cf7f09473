/**
 * The soak's load process: runs the mix of `soak-plan.ts` with autocannon (every connection sends
 * {@link SOAK_CYCLE} over and over), keeps WebSockets open on `/data/events` and reconnects some
 * of them every few seconds, phase after phase: an unrecorded warm-up, the maximum (unthrottled),
 * then the soak at a fraction of that maximum. Like `load-worker.ts` it prints JSON lines on
 * stdout: `{"event":"start","phase":…}` when a phase's connections open (so the harness samples
 * the server from then on), `{"event":"stop","phase":…}` when its load ends, and
 * `{"event":"done","phases":[…]}` with every phase's figures.
 *
 * Usage: `node dist/soak-worker.js <plan.json>` (a {@link SoakPlan}).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon'
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js'
import { WebSocket } from 'ws'
import { httpJson, httpRequest } from './http-request.js'
import {
  SOAK_CYCLE,
  SOAK_EXPECTED_STATUS,
  SOAK_KINDS,
  soakTargetRps,
  type KindResult,
  type SocketResult,
  type SoakKind,
  type SoakPhaseName,
  type SoakPhaseResult,
  type SoakPlan,
  type SoakStep,
  type SoakTokenSource,
} from './soak-plan.js'

/** What one connection carries from step to step of a cycle (autocannon resets it every cycle). */
interface CycleContext {
  /** What the request in flight is counted as. */
  kind?: SoakKind
  issued?: string
  exchanged?: string
  temporary?: string
  createdId?: string
  createdKey?: string
}

/** A request to send: what autocannon builds the bytes from. */
interface Outgoing {
  kind: SoakKind
  method: string
  path: string
  headers: Record<string, string>
  body?: string
}

const MAX_SAMPLES = 20
const JSON_TYPE = 'application/json'
const FORM_TYPE = 'application/x-www-form-urlencoded'

const plan = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as SoakPlan
const seededKeys = JSON.parse(readFileSync(plan.keysFile, 'utf8')) as string[]
let nextSeeded = 0
let nextSocketKey = 0
const seededKey = () => seededKeys[nextSeeded++ % seededKeys.length]!
const bearer = (token: string | undefined) => ({ Authorization: `Bearer ${token ?? 'missing'}` })
const userAuth = bearer(plan.userToken)

const histogram = (): Histogram =>
  buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
const ms = (us: number) => Math.round(us) / 1000
const latencyOf = (h: Histogram) => ({ p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) })

/** The figures of the phase running now. */
let tallies: Record<SoakKind, { requests: number; unexpected: number; statusCodes: Record<string, number>; latencyUs: Histogram }>
let samples: string[] = []
let cappedCreations = 0
/** Completed requests in each second of the phase, and when its load started. */
let completedPerSecond: number[] = []
let phaseStartedAt = 0
/** The kind of the answer autocannon is about to report (set by the request's `onResponse`, just before). */
let answered: SoakKind | undefined

/** Keys the soak created and has not deleted yet, and creations in flight. */
const liveKeys = new Set<string>()
let creating = 0

function note(line: string): void {
  if (samples.length < MAX_SAMPLES) samples.push(line.slice(0, 300))
}

function resetTallies(): void {
  tallies = Object.fromEntries(
    SOAK_KINDS.map((k) => [k, { requests: 0, unexpected: 0, statusCodes: {}, latencyUs: histogram() }]),
  ) as typeof tallies
  samples = []
  cappedCreations = 0
  completedPerSecond = []
  phaseStartedAt = performance.now()
}

const tokenOf = (context: CycleContext, source: SoakTokenSource) => context[source]

/** The request a step sends, given what the cycle has produced so far. */
function outgoing(step: SoakStep, context: CycleContext): Outgoing {
  switch (step.kind) {
    case 'issue': {
      const key = step.key === 'created' && context.createdKey ? context.createdKey : seededKey()
      return { kind: 'issue', method: 'POST', path: '/v1/auth/authenticate', headers: bearer(key) }
    }
    case 'exchange':
      return {
        kind: 'exchange',
        method: 'POST',
        path: '/token',
        headers: { 'Content-Type': FORM_TYPE },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          client_id: 'eyepop-sdk',
          subject_token: seededKey(),
          subject_token_type: 'urn:eyepop:params:oauth:token-type:api-key',
        }).toString(),
      }
    case 'client-session':
      return {
        kind: 'client-session',
        method: 'POST',
        path: '/v1/auth/client-sessions',
        headers: { ...bearer(seededKey()), 'Content-Type': JSON_TYPE },
        body: JSON.stringify({ pop_id: plan.popId }),
      }
    case 'pop-config':
      return { kind: 'pop-config', method: 'GET', path: `/pops/${plan.popId}/config`, headers: bearer(tokenOf(context, step.token)) }
    case 'worker':
      return {
        kind: 'worker',
        method: 'PATCH',
        path: `/worker/pipelines/${plan.pipelineId}/source`,
        headers: { ...bearer(tokenOf(context, step.token)), 'Content-Type': JSON_TYPE },
        body: JSON.stringify({ sourceType: 'URL', url: 'https://example.test/soak.jpg' }),
      }
    case 'keys-list':
      return { kind: 'keys-list', method: 'GET', path: '/api/v1/keys', headers: userAuth }
    case 'audit':
      return { kind: 'audit', method: 'GET', path: '/api/v1/audit?limit=50', headers: userAuth }
    case 'key-create':
      if (liveKeys.size + creating >= plan.liveKeysCap) {
        cappedCreations++
        return { kind: 'keys-list', method: 'GET', path: '/api/v1/keys', headers: userAuth }
      }
      creating++
      return {
        kind: 'key-create',
        method: 'POST',
        path: '/api/v1/keys',
        headers: { ...userAuth, 'Content-Type': JSON_TYPE },
        body: JSON.stringify({ name: `soak ${Date.now()}`, expires: '7d' }),
      }
    case 'key-delete':
      if (!context.createdId) return { kind: 'keys-list', method: 'GET', path: '/api/v1/keys', headers: userAuth }
      return { kind: 'key-delete', method: 'DELETE', path: `/api/v1/keys/${context.createdId}`, headers: userAuth }
    case 'revoke':
      return {
        kind: 'revoke',
        method: 'POST',
        path: '/token/revocation',
        headers: { 'Content-Type': FORM_TYPE },
        body: new URLSearchParams({ token: context.exchanged ?? 'missing' }).toString(),
      }
  }
}

function parse(body: string): Record<string, unknown> {
  try {
    return JSON.parse(body) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** Counts an answer and keeps what later steps of the cycle use. */
function received(step: SoakStep, status: number, body: string, context: CycleContext): void {
  const kind = context.kind!
  answered = kind
  const tally = tallies[kind]
  tally.requests++
  tally.statusCodes[status] = (tally.statusCodes[status] ?? 0) + 1
  if (kind === 'key-create') creating = Math.max(0, creating - 1)
  if (status !== SOAK_EXPECTED_STATUS[kind]) {
    tally.unexpected++
    note(`${kind} answered ${status}: ${body.slice(0, 200)}`)
    return
  }
  switch (kind) {
    case 'issue':
      if (step.kind === 'issue' && step.key === 'seeded') context.issued = parse(body).access_token as string
      break
    case 'exchange':
      context.exchanged = parse(body).access_token as string
      break
    case 'client-session':
      context.temporary = parse(body).accessToken as string
      break
    case 'key-create': {
      const created = parse(body)
      context.createdId = created.id as string
      context.createdKey = created.key as string
      liveKeys.add(context.createdId)
      break
    }
    case 'key-delete':
      liveKeys.delete(context.createdId!)
      context.createdId = undefined
      context.createdKey = undefined
      break
    default:
  }
}

function requestOf(step: SoakStep): AutocannonRequest {
  return {
    setupRequest(req, context) {
      const out = outgoing(step, context as CycleContext)
      ;(context as CycleContext).kind = out.kind
      const { kind: _kind, ...request } = out
      return { ...req, ...request, body: out.body ?? '' }
    },
    onResponse(status, body, context) {
      received(step, status, body, context as CycleContext)
    },
  }
}

/** Runs the mix for `seconds` (at `rate` requests per second, or unthrottled). */
function runMix(seconds: number, rate: number | undefined, onStart: () => void): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: plan.url,
        connections: plan.connections,
        duration: seconds,
        // Sampled every 100 ms, so that a run stops within 0.1 s of its duration.
        sampleInt: 100,
        timeout: 10,
        requests: SOAK_CYCLE.map(requestOf),
        ...(rate !== undefined && { overallRate: rate }),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    )
    // autocannon reports an answer to the request's onResponse first, then here, synchronously.
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseMs: number) => {
      if (answered) tallies[answered].latencyUs.recordValue(Math.max(1, Math.round(responseMs * 1000)))
      answered = undefined
      const second = Math.floor((performance.now() - phaseStartedAt) / 1000)
      completedPerSecond[second] = (completedPerSecond[second] ?? 0) + 1
    })
    instance.on('reqError', (err: Error) => note(`request failed: ${err.message}`))
    instance.once('start', onStart)
  })
}

/** The WebSockets of a phase. */
interface Sockets {
  /** Stops reconnecting, counts the sockets still open, closes them all. */
  stop(): Promise<SocketResult>
}

/**
 * Opens `plan.websockets` event sockets, each with a token minted from one of the keys kept for
 * them (`socketKeys`, in turn), and every `reconnectEverySeconds` closes the `reconnectCount`
 * oldest and opens new ones. A close the soak did not ask for (a refused token, a server failure),
 * a refused upgrade, a socket error or a failed mint is an error.
 */
function startSockets(): Sockets {
  const wsUrl = `${plan.url.replace(/^http/, 'ws')}/data/events`
  const open: Array<{ ws: WebSocket; closing: boolean; failed: boolean }> = []
  const connectUs = histogram()
  const tally = { connects: 0, reconnects: 0, errors: 0 }
  let stopped = false
  const pending = new Set<Promise<void>>()

  /** Mints a token, opens a socket and sends the authorization frame; resolves once it is open (or failed). */
  async function connect(): Promise<void> {
    const key = plan.socketKeys[nextSocketKey++ % plan.socketKeys.length]!
    let token: string
    try {
      token = (await httpJson<{ access_token: string }>(`${plan.url}/v1/auth/authenticate`, { method: 'POST', headers: bearer(key) })).access_token
    } catch (err) {
      tally.errors++
      note(`websocket token: ${(err as Error).message}`)
      return
    }
    if (stopped) return
    const startedAt = performance.now()
    const entry = { ws: new WebSocket(wsUrl, { handshakeTimeout: 10_000 }), closing: false, failed: false }
    open.push(entry)
    const fail = (what: string) => {
      if (entry.closing || entry.failed) return
      entry.failed = true
      tally.errors++
      note(`websocket ${what}`)
    }
    await new Promise<void>((resolve) => {
      entry.ws.on('open', () => {
        tally.connects++
        connectUs.recordValue(Math.max(1, Math.round((performance.now() - startedAt) * 1000)))
        entry.ws.send(JSON.stringify({ authorization: `Bearer ${token}` }))
        resolve()
      })
      entry.ws.on('error', (err) => fail(`error: ${err.message}`))
      entry.ws.on('close', (code, reason) => {
        if (open.includes(entry)) open.splice(open.indexOf(entry), 1)
        fail(`closed by the server: ${code} ${reason.toString()}`)
        resolve()
      })
    })
  }

  const track = (p: Promise<void>) => {
    pending.add(p)
    void p.finally(() => pending.delete(p))
  }
  for (let i = 0; i < plan.websockets; i++) track(connect())
  const timer = setInterval(() => {
    const oldest = open.filter((e) => !e.closing && e.ws.readyState === WebSocket.OPEN).slice(0, plan.reconnectCount)
    for (const entry of oldest) {
      entry.closing = true
      entry.ws.close(1000, 'reconnecting')
      tally.reconnects++
      track(connect())
    }
  }, plan.reconnectEverySeconds * 1000)

  return {
    async stop() {
      clearInterval(timer)
      // Reconnections under way finish first: a socket being replaced is not a socket lost.
      await Promise.all(pending)
      stopped = true
      const openAtEnd = open.filter((e) => !e.closing && !e.failed && e.ws.readyState === WebSocket.OPEN).length
      const closed = open.map(
        (e) =>
          new Promise<void>((resolve) => {
            e.closing = true
            if (e.ws.readyState === WebSocket.CLOSED) return resolve()
            e.ws.once('close', () => resolve())
            e.ws.close(1000, 'done')
            setTimeout(() => {
              e.ws.terminate()
              resolve()
            }, 2000).unref()
          }),
      )
      await Promise.all(closed)
      return { ...tally, openAtEnd, connectMs: latencyOf(connectUs) }
    },
  }
}

/** Deletes every live key of the managed account (keys created by a phase whose answer it cut off). */
async function deleteLeftoverKeys(): Promise<void> {
  const { keys } = await httpJson<{ keys: Array<{ id: string; status: string }> }>(`${plan.url}/api/v1/keys`, { headers: userAuth })
  for (const key of keys.filter((k) => k.status === 'active')) {
    const { status, body } = await httpRequest(`${plan.url}/api/v1/keys/${key.id}`, { method: 'DELETE', headers: userAuth })
    if (status !== 204) throw new Error(`DELETE /api/v1/keys/${key.id} answered ${status}: ${body.slice(0, 200)}`)
  }
  liveKeys.clear()
  creating = 0
}

const print = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`)

async function runPhase(phase: SoakPhaseName, seconds: number, rate?: number): Promise<SoakPhaseResult> {
  resetTallies()
  let sockets: Sockets | undefined
  const result = await runMix(seconds, rate, () => {
    phaseStartedAt = performance.now()
    print({ event: 'start', phase, ...(rate !== undefined && { targetRps: rate }) })
    sockets = startSockets()
  })
  print({ event: 'stop', phase })
  const socketResult = await sockets!.stop()
  await deleteLeftoverKeys()
  const byKind = Object.fromEntries(
    SOAK_KINDS.map((k) => {
      const t = tallies[k]
      const kind: KindResult = { requests: t.requests, unexpected: t.unexpected, statusCodes: t.statusCodes, latencyMs: latencyOf(t.latencyUs) }
      return [k, kind]
    }),
  ) as Record<SoakKind, KindResult>
  const requests = result.requests.total
  return {
    phase,
    seconds: result.duration,
    requests,
    rps: result.duration > 0 ? requests / result.duration : 0,
    ...(rate !== undefined && { targetRps: rate }),
    byKind,
    networkErrors: result.errors,
    timeouts: result.timeouts,
    cappedCreations,
    sockets: socketResult,
    samples,
    // A second in which nothing completed is a hole in the array; the last, partial second is dropped.
    completedPerSecond: Array.from({ length: Math.floor(result.duration) }, (_, i) => completedPerSecond[i] ?? 0),
  }
}

async function main(): Promise<void> {
  const phases: SoakPhaseResult[] = []
  if (plan.warmupSeconds > 0) phases.push(await runPhase('warmup', plan.warmupSeconds))
  let rate = plan.rate
  if (rate === undefined) {
    const max = await runPhase('max', plan.maxSeconds)
    phases.push(max)
    rate = soakTargetRps(max.rps, plan.fraction)
  }
  phases.push(await runPhase('soak', plan.soakSeconds, rate))
  print({ event: 'done', phases })
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`)
  process.exitCode = 1
})
