/**
 * Reads asked for in the same turn of the event loop, run together at its end.
 *
 * @module
 */

/** A batch of reads (see {@link createTurnBatch}). */
export interface TurnBatch<K, V> {
  /** Resolves the value of `key`, read with the others asked for in this turn. */
  get(key: K): Promise<V>
  /** Runs the pending reads now (at close, say). */
  flush(): void
}

/**
 * Collects the reads asked for in one turn of the event loop and runs them together at its end
 * (`setImmediate`): `readOne` for a single read, `readMany` (one read transaction, say) for
 * several. With SQLite each statement outside a transaction is a transaction of its own, and
 * starting one costs more than an indexed lookup (the WAL read lock is two `fcntl` calls, then a
 * size check of the mapped file): under load many requests arrive per turn and share that cost.
 * A read still sees the store as it is after the request that asked for it, never an older state.
 * A failed read rejects every read of its batch.
 */
export function createTurnBatch<K, V>(
  readOne: (key: K) => V,
  readMany: (keys: readonly K[]) => V[],
): TurnBatch<K, V> {
  let pending: Array<{ key: K; resolve: (value: V) => void; reject: (err: unknown) => void }> = []
  const flush = () => {
    const batch = pending
    pending = []
    if (batch.length === 0) return
    try {
      const values = batch.length === 1 ? [readOne(batch[0]!.key)] : readMany(batch.map((read) => read.key))
      for (const [i, read] of batch.entries()) read.resolve(values[i]!)
    } catch (err) {
      for (const read of batch) read.reject(err)
    }
  }
  return {
    get(key) {
      return new Promise((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush)
        pending.push({ key, resolve, reject })
      })
    },
    flush,
  }
}
