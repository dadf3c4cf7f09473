/** Rows written per transaction by the batch writers: a flush never holds the event loop long. */
export const WRITE_CHUNK = 256

/** Writes `items` in chunks of {@link WRITE_CHUNK}, yielding to pending requests between chunks. */
export async function writeInChunks<T>(items: readonly T[], write: (chunk: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += WRITE_CHUNK) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve))
    await write(items.slice(i, i + WRITE_CHUNK))
  }
}

/**
 * `flush` with its calls run one after another: a call starts once the previous one has settled,
 * so a final flush (on close) also waits for a timed one still writing its chunks.
 */
export function oneAtATime(flush: () => Promise<void>): () => Promise<void> {
  let last: Promise<void> = Promise.resolve()
  return () => {
    const run = last.then(flush, flush)
    last = run.catch(() => undefined)
    return run
  }
}
