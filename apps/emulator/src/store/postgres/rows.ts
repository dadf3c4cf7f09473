/**
 * Rows of the emulator's PostgreSQL tables as records: those of `accounts` and `pops` have
 * SQLite's columns (`../sqlite/rows.ts` maps them); `jsonb` columns arrive parsed.
 *
 * @module
 */
import type { AuditEvent, AuditEventType, OidcPayload } from '../types.js'

export { toAccount, toPop, type AccountRow, type PopRow } from '../sqlite/rows.js'

export interface AuditEventRow {
  id: number
  account_id: string
  key_id: string | null
  type: AuditEventType
  at: number
  detail: Record<string, string>
}

export function toAuditEvent(row: AuditEventRow): AuditEvent {
  return { id: row.id, accountId: row.account_id, keyId: row.key_id, type: row.type, at: row.at, detail: row.detail }
}

export function toOidcPayload(row: { payload: OidcPayload } | undefined): OidcPayload | undefined {
  return row?.payload
}
