import { oneAtATime, writeInChunks } from './batches.js'
import type { AuditEventInput, EmulatorStore } from '../store/types.js'

/** Collects audit events in memory and appends them in batches (chunks of 256) per interval. */
export interface AuditRecorder {
  /** Notes an event. No I/O. The event must hold no secret (no key, token or hash). */
  record(event: AuditEventInput): void
  /** Appends what was noted. */
  flush(): Promise<void>
  /** Flushes and stops the timer. */
  close(): Promise<void>
}

/**
 * The most events kept between two flushes. Beyond it events are dropped (and reported through
 * `onError`) rather than letting a store that keeps failing fill the memory.
 */
export const AUDIT_MAX_PENDING = 10_000

/**
 * Creates an audit recorder, so the token route never writes to the database per request: events
 * reach the store at most `flushMs` late. The timer starts with the first event, so a process that
 * records nothing (the CLI) holds no timer; it never keeps the process alive.
 *
 * @param store where events are appended
 * @param flushMs how often (in milliseconds) pending events are written
 * @param onError called when a batch cannot be written (the batch is lost) or events were dropped
 * @example
 * ```ts
 * const audit = createAuditRecorder(store, 1000, (err) => logger.error({ err }, 'audit log write failed'))
 * ```
 */
export function createAuditRecorder(
  store: EmulatorStore,
  flushMs: number,
  onError: (err: unknown) => void,
): AuditRecorder {
  let pending: AuditEventInput[] = []
  let dropped = 0
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const flush = oneAtATime(async () => {
    if (dropped > 0) {
      onError(new Error(`audit log: ${dropped} events were dropped (more than ${AUDIT_MAX_PENDING} pending)`))
      dropped = 0
    }
    if (pending.length === 0) return
    const batch = pending
    pending = []
    await writeInChunks(batch, (chunk) => store.audit.append(chunk))
  })

  return {
    record(event) {
      if (pending.length >= AUDIT_MAX_PENDING) {
        dropped++
        return
      }
      pending.push(event)
      if (timer === undefined && !closed) {
        timer = setInterval(() => flush().catch(onError), flushMs)
        timer.unref()
      }
    },
    flush,
    async close() {
      closed = true
      clearInterval(timer)
      await flush()
    },
  }
}
