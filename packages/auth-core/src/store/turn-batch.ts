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

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function'
}

/**
 * Collects the reads asked for in one turn of the event loop and runs them together at its end
 * (`setImmediate`): `readOne` for a single read, `readMany` (one read transaction, one query) for
 * several, either synchronous or not. With SQLite each statement outside a transaction is a
 * transaction of its own, and starting one costs more than an indexed lookup (the WAL read lock is
 * two `fcntl` calls, then a size check of the mapped file); with PostgreSQL each query is a round
 * trip and a protocol exchange on both sides. Under load many requests arrive per turn and share
 * that cost. A read still sees the store as it is after the request that asked for it, never an
 * older state. A failed read rejects every read of its batch.
 */
export function createTurnBatch<K, V>(
  readOne: (key: K) => V | Promise<V>,
  readMany: (keys: readonly K[]) => readonly V[] | Promise<readonly V[]>,
): TurnBatch<K, V> {
  type Read = { key: K; resolve: (value: V) => void; reject: (err: unknown) => void }
  let pending: Read[] = []
  const fail = (batch: readonly Read[], err: unknown) => {
    for (const read of batch) read.reject(err)
  }
  const flush = () => {
    const batch = pending
    pending = []
    if (batch.length === 0) return
    try {
      if (batch.length === 1) {
        const read = batch[0]!
        const value = readOne(read.key)
        if (isPromise(value)) value.then(read.resolve, read.reject)
        else read.resolve(value)
        return
      }
      const values = readMany(batch.map((read) => read.key))
      const settle = (settled: readonly V[]) => {
        for (const [i, read] of batch.entries()) read.resolve(settled[i]!)
      }
      if (isPromise(values)) values.then(settle, (err: unknown) => fail(batch, err))
      else settle(values)
    } catch (err) {
      fail(batch, err)
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
