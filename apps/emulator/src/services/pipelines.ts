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
 * Creates a pipeline registry holding at most `max` pipelines; the oldest is dropped first, so a
 * client that never disconnects cannot grow memory without bound.
 */
export function createPipelineRegistry(now: () => number, max = 10_000): PipelineRegistry {
  const pipelines = new Map<string, Pipeline>()
  const byPop = new Map<string, string>()

  function add(pipeline: Pipeline): Pipeline {
    if (pipelines.size >= max) {
      const oldest = pipelines.keys().next().value as string
      const dropped = pipelines.get(oldest)
      pipelines.delete(oldest)
      if (dropped?.popId) byPop.delete(dropped.popId)
    }
    pipelines.set(pipeline.id, pipeline)
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
      pipelines.delete(id)
      if (pipeline.popId) byPop.delete(pipeline.popId)
      return true
    },
  }
}
