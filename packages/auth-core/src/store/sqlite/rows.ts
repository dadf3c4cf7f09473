/**
 * Rows of auth-core's tables as records.
 *
 * @module
 */
import type { JWK } from 'jose'
import type { ApiKeyRecord, SigningKeyRecord } from '../types.js'

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
