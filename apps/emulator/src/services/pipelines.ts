import { randomUUID } from 'node:crypto'

/** A running pipeline of the mock Pop worker. */
export interface Pipeline {
  readonly id: string
  readonly accountId: string
  /** The Pop it runs, or `null` for a transient pipeline. */
  readonly popId: string | null
  /** The compute session it belongs to (the 3.x SDKs), or `null`. */
  readonly sessionUuid: string | null
  /** The pipeline definition the client sent (transient) or an empty one. */
  pop: unknown
  source: unknown
  readonly createdAt: number
  /** When a request last reached it (ms). */
  lastUsedAt: number
  /** How long (ms) it may sit unused before it stops; `null` for never (a Pop's pipeline). */
  readonly idleTimeoutMs: number | null
}

/** How a pipeline is started. */
export interface StartPipelineOptions {
  /** The pipeline definition. */
  pop: unknown
  /** Its source. Default: `{sourceType: 'NONE'}`. */
  source?: unknown
  /** The Pop it runs, for its canned predictions. Default: none. */
  popId?: string | null
  /** The compute session it belongs to. Default: none. */
  sessionUuid?: string | null
  /** How long (ms) it may sit unused. Default: the registry's. */
  idleTimeoutMs?: number
}

/** The mock worker's pipelines, in memory (they do not outlive the process, as on EyePop). */
export interface PipelineRegistry {
  /** The pipeline of a Pop, created on first use. It never stops by itself. */
  forPop(popId: string, accountId: string): Pipeline
  /** Starts a pipeline that stops when deleted or after its idle time. */
  start(accountId: string, options: StartPipelineOptions): Pipeline
  /** A live pipeline; `touch` marks it used now. */
  get(id: string, touch?: boolean): Pipeline | undefined
  /** Stops a pipeline; returns whether it existed. */
  delete(id: string): boolean
  /** Calls `listener` with every pipeline that stops (deleted, idle, or dropped at a cap). */
  onStop(listener: (pipeline: Pipeline) => void): void
  /** Stops the pipelines idle past their time; returns how many. */
  sweep(): number
  /** How many pipelines are running. */
  readonly size: number
}

/** Options of {@link createPipelineRegistry}. */
export interface PipelineRegistryOptions {
  /** Clock (ms). */
  now: () => number
  /** The most pipelines in all. Default is 10,000. */
  max?: number
  /**
   * The most pipelines of one account: at the cap, starting another stops the account's own
   * least recently used one, never another account's. Default is 50.
   */
  maxPerAccount?: number
  /** How long (ms) a pipeline may sit unused unless it says otherwise. Default is 5 minutes. */
  idleTimeoutMs?: number
}

/**
 * Creates a pipeline registry. Pipelines are kept in the order they were last used, so the least
 * recently used one is the first in the map.
 */
export function createPipelineRegistry(options: PipelineRegistryOptions): PipelineRegistry {
  const { now, max = 10_000, maxPerAccount = 50, idleTimeoutMs = 300_000 } = options
  const pipelines = new Map<string, Pipeline>()
  const byPop = new Map<string, string>()
  const perAccount = new Map<string, number>()
  const listeners: Array<(pipeline: Pipeline) => void> = []

  function remove(pipeline: Pipeline): void {
    pipelines.delete(pipeline.id)
    if (pipeline.popId && byPop.get(pipeline.popId) === pipeline.id) byPop.delete(pipeline.popId)
    const count = (perAccount.get(pipeline.accountId) ?? 1) - 1
    if (count === 0) perAccount.delete(pipeline.accountId)
    else perAccount.set(pipeline.accountId, count)
    for (const listener of listeners) listener(pipeline)
  }

  function leastRecentlyUsed(accountId: string | null): Pipeline | undefined {
    for (const pipeline of pipelines.values()) {
      if (accountId === null || pipeline.accountId === accountId) return pipeline
    }
    return undefined
  }

  function add(pipeline: Pipeline): Pipeline {
    if ((perAccount.get(pipeline.accountId) ?? 0) >= maxPerAccount) remove(leastRecentlyUsed(pipeline.accountId)!)
    if (pipelines.size >= max) remove(leastRecentlyUsed(null)!)
    pipelines.set(pipeline.id, pipeline)
    perAccount.set(pipeline.accountId, (perAccount.get(pipeline.accountId) ?? 0) + 1)
    if (pipeline.popId) byPop.set(pipeline.popId, pipeline.id)
    return pipeline
  }

  function idle(pipeline: Pipeline, at: number): boolean {
    return pipeline.idleTimeoutMs !== null && at - pipeline.lastUsedAt >= pipeline.idleTimeoutMs
  }

  function touch(pipeline: Pipeline): void {
    pipeline.lastUsedAt = now()
    // Re-inserted: the map stays in order of last use.
    pipelines.delete(pipeline.id)
    pipelines.set(pipeline.id, pipeline)
  }

  return {
    forPop(popId, accountId) {
      const existing = byPop.get(popId)
      if (existing) return pipelines.get(existing)!
      const at = now()
      return add({
        id: randomUUID(),
        accountId,
        popId,
        sessionUuid: null,
        pop: { components: [] },
        source: { sourceType: 'NONE' },
        createdAt: at,
        lastUsedAt: at,
        idleTimeoutMs: null,
      })
    },
    start(accountId, start) {
      const at = now()
      return add({
        id: randomUUID(),
        accountId,
        popId: start.popId ?? null,
        sessionUuid: start.sessionUuid ?? null,
        pop: start.pop,
        source: start.source ?? { sourceType: 'NONE' },
        createdAt: at,
        lastUsedAt: at,
        idleTimeoutMs: start.idleTimeoutMs ?? idleTimeoutMs,
      })
    },
    get(id, markUsed = false) {
      const pipeline = pipelines.get(id)
      if (!pipeline) return undefined
      if (idle(pipeline, now())) {
        remove(pipeline)
        return undefined
      }
      if (markUsed) touch(pipeline)
      return pipeline
    },
    delete(id) {
      const pipeline = pipelines.get(id)
      if (!pipeline) return false
      remove(pipeline)
      return true
    },
    onStop(listener) {
      listeners.push(listener)
    },
    sweep() {
      const at = now()
      const stale = [...pipelines.values()].filter((p) => idle(p, at))
      for (const pipeline of stale) remove(pipeline)
      return stale.length
    },
    get size() {
      return pipelines.size
    },
  }
}
