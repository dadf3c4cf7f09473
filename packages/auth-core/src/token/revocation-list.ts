import type { Clock } from '../lib/time.js'
import type { RevocationPage } from '../store/types.js'

/** Options of {@link createRevocationList}. */
export interface RevocationListOptions {
  /**
   * Reads what was revoked after a cursor: `store.revocations.since` in process, or
   * {@link createRemoteRevocationSource} for a resource server in another process.
   */
  source: (cursor: number) => Promise<RevocationPage>
  /**
   * How often (in milliseconds) the list polls its source. Default is 100: a poll that finds
   * nothing new is one small query (or request), and the interval is most of a deletion's delay.
   */
  pollIntervalMs?: number
  /**
   * How long (in seconds) an entry is kept after its key's deletion: the longest access-token
   * lifetime, after which no token of that key can still be valid. Default is 86400.
   */
  retentionSeconds?: number
  /** Called when a poll fails. The list keeps its last state. Default: ignored. */
  onError?: (err: unknown) => void
  /** Clock (ms). Default is `Date.now`. */
  now?: Clock
}

/** How often (in milliseconds) at most a revocation list drops the entries no token can need. */
const DROP_INTERVAL_MS = 1000

/** An in-memory, polled set of deleted API key ids and revoked token ids. */
export interface RevocationList {
  /** Whether the API key with this id was deleted. Synchronous: no I/O per request. */
  isRevoked(keyId: string): boolean
  /** Whether the token with this `jti` was revoked on its own (RFC 7009). Synchronous. */
  isTokenRevoked(jti: string): boolean
  /** Polls the source now; concurrent calls share one poll. */
  sync(): Promise<void>
  /** When the last successful poll finished (ms), or 0 before the first. */
  readonly syncedAt: number
  /**
   * How long ago (in milliseconds, on a monotonic clock, whatever the injected clock says) the last
   * successful poll finished. A verifier refuses tokens while this is too large: it fails closed.
   */
  readonly ageMs: number
  /** How many entries are held. */
  readonly size: number
  /** Stops polling. */
  stop(): void
}

/**
 * A revocation list that a resource server keeps in memory and refreshes in the background, so
 * that a deleted API key's tokens stop verifying within `pollIntervalMs` plus one poll, with no
 * network or database call per request. Entries are dropped once every token they could apply to
 * has expired, so the list stays bounded.
 *
 * Resolves after the first poll, so a freshly started server never accepts a revoked key's token.
 *
 * @example
 * ```ts
 * const revocations = await createRevocationList({ source: (c) => store.revocations.since(c) })
 * ```
 */
export async function createRevocationList(options: RevocationListOptions): Promise<RevocationList> {
  const pollIntervalMs = options.pollIntervalMs ?? 100
  if (!Number.isInteger(pollIntervalMs) || pollIntervalMs <= 0) {
    throw new TypeError('"pollIntervalMs" option must be a positive integer')
  }
  const retentionMs = (options.retentionSeconds ?? 86_400) * 1000
  const now = options.now ?? Date.now
  const revoked = new Map<string, number>()
  const revokedTokens = new Map<string, number>()
  let cursor = 0
  /** When entries past their use are next dropped (ms). */
  let dropAt = 0
  let syncedAt = 0
  let syncedMonotonic = 0
  let pending: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  async function poll(): Promise<void> {
    // A paged source: read until the last page, so that one poll catches up completely.
    for (;;) {
      const page = await options.source(cursor)
      for (const entry of page.revoked) revoked.set(entry.id, entry.deletedAt)
      for (const entry of page.revokedTokens ?? []) revokedTokens.set(entry.jti, entry.expiresAt)
      const advanced = page.cursor > cursor
      cursor = page.cursor
      // A page that says "more" without moving the cursor would loop forever: stop there.
      if (!page.more || !advanced) break
    }
    const at = now()
    // Dropping what no token can need any more reads every entry: at most once a second, not on
    // every poll.
    if (at >= dropAt) {
      dropAt = at + DROP_INTERVAL_MS
      const horizon = at - retentionMs
      for (const [id, deletedAt] of revoked) if (deletedAt < horizon) revoked.delete(id)
      // A revoked token needs no entry once it has expired anyway.
      for (const [jti, expiresAt] of revokedTokens) if (expiresAt < at) revokedTokens.delete(jti)
    }
    syncedAt = now()
    syncedMonotonic = performance.now()
  }

  function sync(): Promise<void> {
    pending ??= poll().finally(() => {
      pending = undefined
    })
    return pending
  }

  await sync()
  timer = setInterval(() => {
    sync().catch((err: unknown) => options.onError?.(err))
  }, pollIntervalMs)
  timer.unref()

  return {
    isRevoked: (keyId) => revoked.has(keyId),
    isTokenRevoked: (jti) => revokedTokens.has(jti),
    sync,
    get syncedAt() {
      return syncedAt
    },
    get ageMs() {
      return performance.now() - syncedMonotonic
    },
    get size() {
      return revoked.size + revokedTokens.size
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = undefined
    },
  }
}
