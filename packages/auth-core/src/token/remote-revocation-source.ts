import { StoreError } from '../errors.js'
import type { RevocationPage } from '../store/types.js'

/** Options of {@link createRemoteRevocationSource}. */
export interface RemoteRevocationSourceOptions {
  /** Timeout (in milliseconds) of one poll. Default is 2000. */
  timeoutMs?: number
  /** The `fetch` to use. Default is `globalThis.fetch`. */
  fetch?: typeof fetch
}

/** The wire form of the revocation feed (`GET /v1/auth/revocations?cursor=N`). */
export interface RevocationFeedBody {
  /** Deleted API keys: their tokens are all refused. */
  revoked: Array<{ key_id: string; deleted_at: number }>
  /** Single revoked tokens (RFC 7009), with their own expiry (ms). */
  revoked_tokens: Array<{ jti: string; revoked_at: number; expires_at: number }>
  /** The cursor to ask with next. */
  cursor: number
  /** Whether more entries follow (the feed answers pages of at most 1,000 entries). */
  has_more: boolean
}

/**
 * A revocation source for a resource server in another process: it polls the issuer's revocation
 * feed (deleted API key ids and revoked token ids, which are not secret, like a certificate
 * revocation list). Pass it to {@link createRevocationList}, which reads page after page until it
 * has caught up.
 *
 * @param url the feed, e.g. `http://127.0.0.1:8700/v1/auth/revocations`
 * @example
 * ```ts
 * const revocations = await createRevocationList({
 *   source: createRemoteRevocationSource('http://127.0.0.1:8700/v1/auth/revocations'),
 * })
 * ```
 */
export function createRemoteRevocationSource(
  url: string | URL,
  options: RemoteRevocationSourceOptions = {},
): (cursor: number) => Promise<RevocationPage> {
  const feed = new URL(url)
  const fetchImpl = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? 2000
  return async function pollRevocationFeed(cursor) {
    const target = new URL(feed)
    target.searchParams.set('cursor', String(cursor))
    const res = await fetchImpl(target, {
      headers: { Accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (res.status !== 200) throw new StoreError(`revocation feed answered with status ${res.status}`)
    const body = (await res.json()) as Partial<RevocationFeedBody>
    if (!Array.isArray(body.revoked) || typeof body.cursor !== 'number') {
      throw new StoreError('revocation feed answer is malformed')
    }
    return {
      revoked: body.revoked.map((r) => ({ id: String(r.key_id), deletedAt: Number(r.deleted_at) })),
      revokedTokens: (Array.isArray(body.revoked_tokens) ? body.revoked_tokens : []).map((r) => ({
        jti: String(r.jti),
        revokedAt: Number(r.revoked_at),
        expiresAt: Number(r.expires_at),
      })),
      cursor: body.cursor,
      // An older feed answered everything at once, without the field.
      more: body.has_more === true,
    }
  }
}
