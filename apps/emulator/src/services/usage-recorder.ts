import type { Store } from '@eyepop/auth-core'

/** Collects key last-use times in memory and writes them in one batch per interval. */
export interface UsageRecorder {
  /** Notes that a key authenticated at `at` (ms). No I/O. */
  record(keyId: string, at: number): void
  /** Writes what was noted. */
  flush(): Promise<void>
  /** Flushes and stops the timer. */
  close(): Promise<void>
}

/**
 * Creates a usage recorder, so the token route never writes to the database per request: last-use
 * times are at most `flushMs` stale.
 */
export function createUsageRecorder(
  store: Store,
  flushMs: number,
  onError: (err: unknown) => void,
): UsageRecorder {
  let pending = new Map<string, number>()
  const flush = async () => {
    if (pending.size === 0) return
    const batch = [...pending].map(([id, at]) => ({ id, at }))
    pending = new Map()
    await store.apiKeys.recordUse(batch)
  }
  const timer = setInterval(() => flush().catch(onError), flushMs)
  timer.unref()
  return {
    record(keyId, at) {
      pending.set(keyId, at)
    },
    flush,
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}
