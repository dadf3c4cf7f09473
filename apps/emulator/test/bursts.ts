/**
 * Bursts of requests in tests: {@link inBatches} and {@link createKeysUntilKilled}.
 *
 * @module
 */

/** Runs `fn` over `items`, `limit` at a time; resolves every result in order. */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: limit }, worker))
  return results
}

/** What a burst of key creations cut by a kill -9 was answered. */
export interface KilledBurst {
  /** The keys answered 201 with a whole body, before and during the kill. */
  acknowledged: Array<{ id: string; key: string }>
  /** Answers other than 201 (none is expected before the kill). */
  refused: string[]
}

/**
 * Creates up to `burst` keys with `create`, `inFlight` at a time, and calls `kill` once more than
 * `killAfter` are acknowledged, with the other creations in flight being written or queued. Only
 * a 201 whose body arrived whole counts: a request cut off by the kill promised nothing.
 */
export async function createKeysUntilKilled(options: {
  burst: number
  inFlight: number
  killAfter: number
  create: (name: string) => Promise<Response>
  kill: () => void
}): Promise<KilledBurst> {
  const acknowledged: KilledBurst['acknowledged'] = []
  const refused: string[] = []
  let killed = false
  await inBatches(Array.from({ length: options.burst }, (_, i) => i), options.inFlight, async (i) => {
    if (killed) return
    try {
      const res = await options.create(`burst ${i}`)
      const body = (await res.json()) as { id?: string; key?: string }
      if (res.status !== 201 || body.id === undefined || body.key === undefined) {
        refused.push(`${res.status} ${JSON.stringify(body)}`)
        return
      }
      acknowledged.push({ id: body.id, key: body.key })
    } catch {
      return
    }
    if (!killed && acknowledged.length > options.killAfter) {
      killed = true
      options.kill()
    }
  })
  return { acknowledged, refused }
}
