/**
 * Rows of the emulator's tables as records.
 *
 * @module
 */
import type { AccountRecord, AuditEvent, AuditEventType, OidcPayload, PopRecord } from '../types.js'

export interface AccountRow {
  id: string
  email: string
  name: string
  created_at: number
  password_hash: string | null
}

export interface PopRow {
  id: string
  account_id: string
  name: string
  created_at: number
}

export interface AuditEventRow {
  id: number
  account_id: string
  key_id: string | null
  type: AuditEventType
  at: number
  detail: string
}

export function toAccount(row: AccountRow | undefined): AccountRecord | undefined {
  if (!row) return undefined
  return { id: row.id, email: row.email, name: row.name, createdAt: row.created_at, passwordHash: row.password_hash ?? null }
}

export function toPop(row: PopRow | undefined): PopRecord | undefined {
  if (!row) return undefined
  return { id: row.id, accountId: row.account_id, name: row.name, createdAt: row.created_at }
}

export function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    accountId: row.account_id,
    keyId: row.key_id,
    type: row.type,
    at: row.at,
    detail: JSON.parse(row.detail) as Record<string, string>,
  }
}

export function toOidcPayload(row: { payload: string } | undefined): OidcPayload | undefined {
  return row ? (JSON.parse(row.payload) as OidcPayload) : undefined
}
