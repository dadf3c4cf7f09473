import { randomBytes } from 'node:crypto'

/** A running pipeline of the mock Pop worker. */
export interface Pipeline {
  readonly id: string
  readonly accountId: string
  /** The Pop it runs, or `null` for a transient pipeline. */
  readonly popId: string | null
  /** The pipeline definition the client sent (transient) or an empty one. */
  pop: unknown
  source: unknown
  readonly createdAt: number
}

/** The mock worker's pipelines, in memory (they do not outlive the process, as on EyePop). */
export interface PipelineRegistry {
  /** The pipeline of a Pop, created on first use. */
  forPop(popId: string, accountId: string): Pipeline
  /** Starts a transient pipeline. */
  startTransient(accountId: string, pop: unknown, source: unknown): Pipeline
  get(id: string): Pipeline | undefined
  /** Stops a pipeline; resolves whether it existed. */
  delete(id: string): boolean
}

/**
 * Creates a pipeline registry: at most `maxPerAccount` pipelines per account (a client that never
 * disconnects drops its own oldest pipeline, never another account's) and `max` in all.
 */
export function createPipelineRegistry(now: () => number, max = 10_000, maxPerAccount = 50): PipelineRegistry {
  const pipelines = new Map<string, Pipeline>()
  const byPop = new Map<string, string>()
  const perAccount = new Map<string, number>()

  function remove(pipeline: Pipeline): void {
    pipelines.delete(pipeline.id)
    if (pipeline.popId && byPop.get(pipeline.popId) === pipeline.id) byPop.delete(pipeline.popId)
    const count = (perAccount.get(pipeline.accountId) ?? 1) - 1
    if (count === 0) perAccount.delete(pipeline.accountId)
    else perAccount.set(pipeline.accountId, count)
  }

  function oldestOf(accountId: string | null): Pipeline | undefined {
    for (const pipeline of pipelines.values()) {
      if (accountId === null || pipeline.accountId === accountId) return pipeline
    }
    return undefined
  }

  function add(pipeline: Pipeline): Pipeline {
    if ((perAccount.get(pipeline.accountId) ?? 0) >= maxPerAccount) remove(oldestOf(pipeline.accountId)!)
    if (pipelines.size >= max) remove(oldestOf(null)!)
    pipelines.set(pipeline.id, pipeline)
    perAccount.set(pipeline.accountId, (perAccount.get(pipeline.accountId) ?? 0) + 1)
    if (pipeline.popId) byPop.set(pipeline.popId, pipeline.id)
    return pipeline
  }

  const newId = () => randomBytes(16).toString('hex')

  return {
    forPop(popId, accountId) {
      const existing = byPop.get(popId)
      if (existing) return pipelines.get(existing)!
      return add({
        id: newId(),
        accountId,
        popId,
        pop: { components: [] },
        source: { sourceType: 'NONE' },
        createdAt: now(),
      })
    },
    startTransient(accountId, pop, source) {
      return add({ id: newId(), accountId, popId: null, pop, source, createdAt: now() })
    },
    get: (id) => pipelines.get(id),
    delete(id) {
      const pipeline = pipelines.get(id)
      if (!pipeline) return false
      remove(pipeline)
      return true
    },
  }
}
