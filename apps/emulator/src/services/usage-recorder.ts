import { oneAtATime, writeInChunks } from './batches.js'
import type { EmulatorStore } from '../store/types.js'

/**
 * How precise (in ms) a key's stored last use is: a use within an hour of it is not written. Like
 * the last-used indicators of other providers, it is approximate after the first use (which is
 * written within `flushMs`, and audited as `key.first_used` with its exact time).
 */
export const LAST_USED_RESOLUTION_MS = 3_600_000

/** Collects key last-use times in memory and writes them in batches per interval. */
export interface UsageRecorder {
  /**
   * Notes that a key authenticated at `at` (ms), given its stored last use. No I/O. A use within
   * {@link LAST_USED_RESOLUTION_MS} of the stored one changes nothing and is not written.
   */
  record(keyId: string, at: number, storedLastUsedAt: number | null): void
  /**
   * Whether a use of the key was noted and is not written yet (waiting for the next flush, or
   * being written by one): the store's last use of the key is older than what this process knows.
   */
  hasUnwritten(keyId: string): boolean
  /** Writes what was noted. */
  flush(): Promise<void>
  /** Flushes and stops the timer. */
  close(): Promise<void>
}

/**
 * Creates a usage recorder, so the token route never writes to the database per request: last-use
 * times are at most `flushMs` stale (a first use) or an hour (later ones), and a key used all the
 * time costs one write an hour, however many keys there are. A flush writes in chunks of 256
 * rows, yielding between them, so that requests are not held behind a large batch.
 */
export function createUsageRecorder(
  store: EmulatorStore,
  flushMs: number,
  onError: (err: unknown) => void,
): UsageRecorder {
  let pending = new Map<string, number>()
  /** The uses a flush is writing; emptied once it has finished, written or not. */
  let writing = new Map<string, number>()
  const flush = oneAtATime(async () => {
    if (pending.size === 0) return
    writing = pending
    pending = new Map()
    try {
      await writeInChunks([...writing].map(([id, at]) => ({ id, at })), (chunk) => store.apiKeys.recordUse(chunk))
    } finally {
      writing = new Map()
    }
  })
  const timer = setInterval(() => flush().catch(onError), flushMs)
  timer.unref()
  return {
    record(keyId, at, storedLastUsedAt) {
      if (storedLastUsedAt !== null && at - storedLastUsedAt < LAST_USED_RESOLUTION_MS) return
      pending.set(keyId, at)
    },
    hasUnwritten: (keyId) => pending.has(keyId) || writing.has(keyId),
    flush,
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}
