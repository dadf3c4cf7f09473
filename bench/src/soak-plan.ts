/**
 * The soak run's mix of traffic and the figures it is judged by: what the soak process
 * (`soak-worker.ts`) is asked to run, what it reports, the cycle of requests every connection
 * repeats, and the pure computations of the report (shares, target rate, RSS growth, errors).
 *
 * @module
 */

/** The kinds of request of the mix, one per route (the report has a row for each). */
export const SOAK_KINDS = [
  'issue',
  'exchange',
  'client-session',
  'pop-config',
  'worker',
  'keys-list',
  'audit',
  'key-create',
  'key-delete',
  'revoke',
] as const

/** One of {@link SOAK_KINDS}. */
export type SoakKind = (typeof SOAK_KINDS)[number]

/** What each kind sends, for the report. */
export const SOAK_KIND_LABEL: Record<SoakKind, string> = {
  issue: 'POST /v1/auth/authenticate (issuance from an API key)',
  exchange: 'POST /token (RFC 8693 exchange of an API key)',
  'client-session': 'POST /v1/auth/client-sessions (temporary key)',
  'pop-config': 'GET /pops/{id}/config (access token, exchanged token or temporary key)',
  worker: 'PATCH /worker/pipelines/{id}/source (a URL, answered with predictions)',
  'keys-list': 'GET /api/v1/keys (user token)',
  audit: 'GET /api/v1/audit?limit=50 (user token)',
  'key-create': 'POST /api/v1/keys (user token)',
  'key-delete': 'DELETE /api/v1/keys/{id} (user token)',
  revoke: 'POST /token/revocation (RFC 7009, the exchanged token)',
}

/** The only status each kind may answer: anything else is an error of the soak. */
export const SOAK_EXPECTED_STATUS: Record<SoakKind, number> = {
  issue: 200,
  exchange: 200,
  'client-session': 200,
  'pop-config': 200,
  worker: 200,
  'keys-list': 200,
  audit: 200,
  'key-create': 201,
  'key-delete': 204,
  revoke: 200,
}

/** The token a Pop request carries: the issued one, the exchanged one or the temporary key. */
export type SoakTokenSource = 'issued' | 'exchanged' | 'temporary'

/** One step of the cycle. */
export type SoakStep =
  /** With a seeded key (the next in turn), or with the key created earlier in this cycle. */
  | { kind: 'issue'; key: 'seeded' | 'created' }
  | { kind: 'exchange' | 'client-session' | 'keys-list' | 'audit' | 'key-create' | 'key-delete' | 'revoke' }
  | { kind: 'pop-config' | 'worker'; token: SoakTokenSource }

/**
 * The 20 requests every connection sends in turn, over and over: mostly Pop routes (a token is
 * used many times), some issuance, exchange and temporary keys, the dashboard's API, and the
 * steps that make the store grow as in service: a key created, used once and deleted (its first
 * use and its deletion are audit events, its id joins the revocation feed for good), and an
 * exchanged token revoked (kept in the feed until it expires, an hour later). Each step may use
 * what an earlier step of the same cycle produced (the token, the temporary key, the new key).
 */
export const SOAK_CYCLE: readonly SoakStep[] = [
  { kind: 'issue', key: 'seeded' },
  { kind: 'pop-config', token: 'issued' },
  { kind: 'worker', token: 'issued' },
  { kind: 'exchange' },
  { kind: 'pop-config', token: 'exchanged' },
  { kind: 'worker', token: 'issued' },
  { kind: 'client-session' },
  { kind: 'pop-config', token: 'temporary' },
  { kind: 'worker', token: 'exchanged' },
  { kind: 'keys-list' },
  { kind: 'pop-config', token: 'issued' },
  { kind: 'key-create' },
  { kind: 'issue', key: 'created' },
  { kind: 'worker', token: 'issued' },
  { kind: 'key-delete' },
  { kind: 'pop-config', token: 'temporary' },
  { kind: 'audit' },
  { kind: 'worker', token: 'issued' },
  { kind: 'revoke' },
  { kind: 'pop-config', token: 'issued' },
]

/**
 * The limits on the keys the soak creates, for `connections` connections: the emulator's live-key
 * limit per account (`--max-keys-per-account`, 20 by default) is raised so that every connection
 * can hold the key it created between its creation and its deletion; the soak itself never lets
 * more than `liveCap` live at once (creations racing past the emulator's count may exceed its limit
 * by one, and a key whose answer a phase's end cut off lives until the phase's clean-up). A
 * connection whose turn to create comes at the cap lists the keys instead, and its next two steps
 * use a seeded key and list again (counted under what they sent).
 */
export function soakKeyLimits(connections: number): { maxKeysPerAccount: number; liveCap: number } {
  return { maxKeysPerAccount: Math.max(20, connections + 10), liveCap: Math.max(15, connections + 5) }
}

/** The share of each kind in a cycle (0–1). */
export function mixShares(cycle: readonly SoakStep[]): Record<SoakKind, number> {
  const shares = Object.fromEntries(SOAK_KINDS.map((k) => [k, 0])) as Record<SoakKind, number>
  for (const step of cycle) shares[step.kind] += 1 / cycle.length
  return shares
}

/** The soak's rate: `fraction` of the measured maximum, in whole requests per second (at least 1). */
export function soakTargetRps(maxRps: number, fraction: number): number {
  if (!(maxRps > 0) || !(fraction > 0)) throw new RangeError('the maximum and the fraction must be positive')
  return Math.max(1, Math.round(maxRps * fraction))
}

/** One sample of the server process, taken every second. */
export interface ResourceSample {
  phase: SoakPhaseName
  /** Seconds since the phase's load started. */
  t: number
  rssMb: number
  /** Of `rssMb`, anonymous memory (heap and native allocations), when read. */
  anonMb?: number
  /** Of `rssMb`, file-backed memory (the memory-mapped database, the program's files), when read. */
  fileMb?: number
  /** Server CPU use since the previous sample, in percent of one core (`null` for a phase's first). */
  cpuPercent: number | null
}

/** The RSS growth of a phase after its first seconds. */
export interface RssGrowth {
  /** The seconds after which growth is counted (the first sample at or after them). */
  fromSeconds: number
  /** When that sample was taken, in seconds since the phase started. */
  atSeconds: number
  fromMb: number
  /** The last sample of the phase. */
  endMb: number
  /** (end − from) / from, in percent (negative: it shrank). */
  percent: number
  /** The same for anonymous memory (heap and native allocations), when the samples have it. */
  anon?: { fromMb: number; endMb: number; percent: number }
}

/**
 * The growth of RSS from the first sample at or after `fromSeconds` to the last sample of the
 * phase (`undefined` if the phase did not last beyond `fromSeconds`).
 */
export function rssGrowth(samples: readonly ResourceSample[], phase: SoakPhaseName, fromSeconds: number): RssGrowth | undefined {
  const ofPhase = samples.filter((s) => s.phase === phase).sort((a, b) => a.t - b.t)
  // A sample taken a few milliseconds early (a timer tick) counts as on time.
  const from = ofPhase.find((s) => s.t >= fromSeconds - 0.05)
  const end = ofPhase.at(-1)
  if (!from || !end || end.t <= from.t) return undefined
  return {
    fromSeconds,
    atSeconds: from.t,
    fromMb: from.rssMb,
    endMb: end.rssMb,
    percent: ((end.rssMb - from.rssMb) / from.rssMb) * 100,
    ...(from.anonMb !== undefined && end.anonMb !== undefined
      ? { anon: { fromMb: from.anonMb, endMb: end.anonMb, percent: ((end.anonMb - from.anonMb) / from.anonMb) * 100 } }
      : {}),
  }
}

/** One window of a phase's timeline. */
export interface TimelineWindow {
  /** Seconds since the phase started: (from, to]. */
  from: number
  to: number
  rps: number
  /** Server CPU use, in percent of one core (the mean of the window's samples). */
  cpuPercent: number
  /** Server CPU time per completed request, in microseconds. */
  cpuUsPerRequest: number
  /** RSS at the last sample of the window. */
  rssMb: number
}

/**
 * A phase cut into windows of `windowSeconds`: the rate, the server's CPU use and CPU per request,
 * and RSS in each, so that a cost per request that grows with the store shows as a trend (and a
 * machine that changes speed, as a jump). A last, shorter window is dropped unless it is the only one.
 */
export function soakTimeline(
  samples: readonly ResourceSample[],
  phase: SoakPhaseName,
  completedPerSecond: readonly number[],
  windowSeconds: number,
): TimelineWindow[] {
  const ofPhase = samples.filter((s) => s.phase === phase && s.cpuPercent !== null)
  const windows: TimelineWindow[] = []
  const seconds = completedPerSecond.length
  const count = Math.max(1, Math.floor(seconds / windowSeconds))
  for (let w = 0; w < count; w++) {
    const from = w * windowSeconds
    const to = Math.min(seconds, from + windowSeconds)
    const completed = completedPerSecond.slice(from, to).reduce((a, b) => a + b, 0)
    const inWindow = ofPhase.filter((s) => s.t > from + 0.05 && s.t <= to + 0.05)
    if (inWindow.length === 0 || to <= from) continue
    const cpuPercent = inWindow.reduce((n, s) => n + s.cpuPercent!, 0) / inWindow.length
    const rps = completed / (to - from)
    windows.push({ from, to, rps, cpuPercent, cpuUsPerRequest: rps > 0 ? (cpuPercent / 100) * 1e6 / rps : NaN, rssMb: inWindow.at(-1)!.rssMb })
  }
  return windows
}

/** The phases of a soak: an unrecorded warm-up, the maximum of the mix, the soak itself. */
export type SoakPhaseName = 'warmup' | 'max' | 'soak'

/** What the soak process runs (written to a JSON file, its only argument). */
export interface SoakPlan {
  /** The emulator's base URL. */
  url: string
  popId: string
  /** The Pop's pipeline (from its config), which the worker requests process URLs on. */
  pipelineId: string
  /** A signed-in user's access token (`manage:keys`) of the account whose keys the soak manages. */
  userToken: string
  /** A JSON file of seeded API keys (strings), used in turn by the HTTP mix. */
  keysFile: string
  /** Seeded keys that mint the WebSockets' tokens (never used by the mix). */
  socketKeys: string[]
  connections: number
  /** WebSockets kept open on `/data/events`. */
  websockets: number
  /** Every this many seconds, {@link SoakPlan.reconnectCount} of the sockets are closed and opened again. */
  reconnectEverySeconds: number
  reconnectCount: number
  /** Seconds of unrecorded, unthrottled load first (0: none). */
  warmupSeconds: number
  /** Seconds of unthrottled load whose rate is the maximum (0: use `rate`). */
  maxSeconds: number
  soakSeconds: number
  /** The soak's share of the maximum (0.7). */
  fraction: number
  /** A fixed rate (requests per second) instead of `fraction` of a measured maximum. */
  rate?: number
  /** The most keys created by the soak that may live at once (see {@link soakKeyLimits}). */
  liveKeysCap: number
}

/** One kind's figures over a phase. */
export interface KindResult {
  requests: number
  /** Answers with another status than {@link SOAK_EXPECTED_STATUS}. */
  unexpected: number
  statusCodes: Record<string, number>
  /** Latency of every answer, in milliseconds to the microsecond. */
  latencyMs: { p50: number; p99: number; max: number }
}

/** The WebSockets' figures over a phase. */
export interface SocketResult {
  /** Connections opened (the first ones and the reconnections). */
  connects: number
  /** Sockets the soak closed and opened again. */
  reconnects: number
  /** Closes the soak did not ask for, refused upgrades, socket errors, failed token mints. */
  errors: number
  /** Sockets open and authenticated when the phase ended. */
  openAtEnd: number
  /** From the upgrade request to the open socket, in milliseconds. */
  connectMs: { p50: number; p99: number; max: number }
}

/** What a phase measured. */
export interface SoakPhaseResult {
  phase: SoakPhaseName
  /** Recorded seconds. */
  seconds: number
  /** Completed HTTP requests. */
  requests: number
  rps: number
  /** The rate asked for (`undefined`: unthrottled). */
  targetRps?: number
  byKind: Record<SoakKind, KindResult>
  /** Connection errors and timeouts (autocannon's), not tied to a kind. */
  networkErrors: number
  /** The timeouts among {@link SoakPhaseResult.networkErrors} (10 s without an answer). */
  timeouts: number
  /** Key creations replaced by a listing because {@link SoakPlan.liveKeysCap} keys were live. */
  cappedCreations: number
  sockets: SocketResult
  /** The first few unexpected answers and errors, for the log. */
  samples: string[]
  /** Completed HTTP requests in each second of the phase, in order. */
  completedPerSecond: number[]
}

/** The errors of a phase: unexpected statuses, network errors (timeouts among them), WebSocket errors. */
export function phaseErrors(result: Pick<SoakPhaseResult, 'byKind' | 'networkErrors' | 'sockets'>): number {
  const unexpected = Object.values(result.byKind).reduce((n, k) => n + k.unexpected, 0)
  return unexpected + result.networkErrors + result.sockets.errors
}
