import type { Clock, RevocationPage } from '@eyepop/auth-core'
import type { EmulatorStore } from '../store/types.js'

/** Token revocation (RFC 7009) and the feed of what was revoked, over the store. */
export interface RevocationService {
  /** Revokes one token (its `jti`) until it expires anyway (`expiresAt`, ms); false if it already was. */
  revokeToken(jti: string, expiresAt: number): Promise<boolean>
  /** What was revoked after `cursor`: at most `limit` entries (default and most: auth-core's `REVOCATION_PAGE_LIMIT`). */
  page(cursor: number, limit?: number): Promise<RevocationPage>
}

/** Creates the revocation service. */
export function createRevocationService(deps: { store: EmulatorStore; now: Clock }): RevocationService {
  const { store, now } = deps
  return {
    revokeToken: (jti, expiresAt) => store.revocations.revokeToken(jti, expiresAt, now()),
    page: (cursor, limit) => store.revocations.since(cursor, limit),
  }
}
