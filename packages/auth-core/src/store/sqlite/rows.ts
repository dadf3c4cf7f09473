/**
 * Rows of auth-core's tables as records.
 *
 * @module
 */
import type { JWK } from 'jose'
import type { ApiKeyRecord, RevocationPage, SigningKeyRecord } from '../types.js'

/** The columns every read of `api_keys` selects, as an array (cheaper than an object per row). */
export const API_KEY_COLUMNS = 'id, account_id, name, hash, hint, created_at, expires_at, last_used_at, deleted_at'

/** A row of `api_keys` read as an array, in {@link API_KEY_COLUMNS} order. */
export type ApiKeyRow = [string, string, string, string, string, number, number | null, number | null, number | null]

/** A row of `signing_keys`. */
export interface SigningKeyRow {
  kid: string
  alg: 'EdDSA' | 'ES256'
  private_jwk: string
  public_jwk: string
  created_at: number
  retired_at: number | null
}

/** A row of `revocations`. */
export interface RevocationRow {
  seq: number
  kind: 'key' | 'token'
  subject: string
  revoked_at: number
  expires_at: number | null
}

export function toApiKey(row: ApiKeyRow | undefined): ApiKeyRecord | undefined {
  if (!row) return undefined
  const [id, accountId, name, hash, hint, createdAt, expiresAt, lastUsedAt, deletedAt] = row
  return { id, accountId, name, hash, hint, createdAt, expiresAt, lastUsedAt, deletedAt }
}

export function toSigningKey(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    privateJwk: JSON.parse(row.private_jwk) as JWK,
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  }
}

/**
 * A page of the revocation feed from the rows read after `cursor`: at most `pageLimit` of them,
 * read with one row more (`pageLimit + 1`) so that the extra one tells whether another page
 * follows. The row it drops is read again by the next page.
 */
export function toRevocationPage(rows: RevocationRow[], cursor: number, pageLimit: number): RevocationPage {
  const more = rows.length > pageLimit
  if (more) rows.pop()
  return {
    revoked: rows.filter((row) => row.kind === 'key').map((row) => ({ id: row.subject, deletedAt: row.revoked_at })),
    revokedTokens: rows
      .filter((row) => row.kind === 'token')
      .map((row) => ({ jti: row.subject, revokedAt: row.revoked_at, expiresAt: row.expires_at ?? 0 })),
    cursor: rows.length > 0 ? rows[rows.length - 1]!.seq : cursor,
    more,
  }
}
