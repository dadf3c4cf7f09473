/**
 * What the load generator's process (`load-worker.ts`) is asked to run and what it reports: the
 * types both sides of that process share, and the order of its slices.
 *
 * @module
 */

/** What one load sends. `{{value}}` in the path, a header value or the body is replaced. */
export interface LoadSpec {
  /**
   * The server's base URL (`http://127.0.0.1:PORT`), or several servers' (instances of one service
   * on one database): the connections are then split evenly across them, all loaded at once, and
   * their responses counted together.
   */
  url: string | string[]
  connections: number
  /** Recorded seconds in all; autocannon stops a slice at the next whole-second tick after it. */
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

/**
 * One load or several. With two, their recorded time is cut into `slices` slices each, run in the
 * order A B B A A B B A …, so that both sides sample the same moments of a machine whose speed
 * drifts and jumps within seconds (a 5 s run of A, then one of B, compares two different machines);
 * with three, A B C C B A A B C ….
 */
export interface LoadPlan {
  sides: LoadSpec[]
  /** Slices per side (1: one run each). */
  slices: number
}

/** What a load measured, as the worker prints it. */
export interface LoadWorkerResult {
  /** Recorded seconds, summed over the slices. */
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
  /** Requests per second in each slice, in order (one entry for a single run). */
  sliceRps: number[]
}

/**
 * The order of the slices of a plan, as side indexes, each side getting `slices` of them: the sides
 * in order and back again, A B B A A B B A … for two sides, A B C C B A A B C … for three, the one
 * side `slices` times.
 */
export function sliceOrder(sides: number, slices: number): number[] {
  if (!Number.isInteger(sides) || sides < 1) throw new RangeError('a load plan has at least one side')
  return Array.from({ length: sides * slices }, (_, i) => {
    const step = i % (2 * sides)
    return step < sides ? step : 2 * sides - 1 - step
  })
}
