/**
 * The emulator's SQL, prepared once per connection.
 *
 * @module
 */
import type Database from 'better-sqlite3'
import type { AccountRow, AuditEventRow, PopRow } from './rows.js'

type Run<P extends unknown[] = unknown[]> = Database.Statement<P>
type Read<P extends unknown[], R> = Database.Statement<P, R>

/** The emulator store's statements. */
export interface EmulatorStatements {
  accountInsert: Run<[object]>
  accountSetPassword: Run<[object]>
  accountGet: Read<[string], AccountRow>
  accountByEmail: Read<[string], AccountRow>
  accountList: Read<[], AccountRow>
  accountExists: Read<[string], number>
  popInsert: Run<[object]>
  popGet: Read<[string], PopRow>
  popList: Read<[string], PopRow>
  oidcUpsert: Run<[object]>
  oidcFind: Read<[string, string, number], { payload: string }>
  oidcByUid: Read<[string, string, number], { payload: string }>
  oidcByUserCode: Read<[string, string, number], { payload: string }>
  oidcConsume: Run<[number, string, string]>
  oidcDestroy: Run<[string, string]>
  oidcRevokeGrant: Run<[string]>
  oidcPurge: Run<[number]>
  auditInsert: Run<[object]>
  auditList: Read<[string, number, number], AuditEventRow>
  auditListByKey: Read<[string, string, number, number], AuditEventRow>
}

/** Prepares every statement of the emulator's tables on `db`. */
export function prepareEmulatorStatements(db: Database.Database): EmulatorStatements {
  return {
    accountInsert: db.prepare(
      `INSERT INTO accounts (id, email, name, created_at, password_hash)
       VALUES (@id, @email, @name, @createdAt, @passwordHash)`,
    ),
    accountSetPassword: db.prepare('UPDATE accounts SET password_hash = @hash WHERE id = @id'),
    accountGet: db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE id = ?'),
    accountByEmail: db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE email = ?'),
    accountList: db.prepare<[], AccountRow>('SELECT * FROM accounts ORDER BY created_at, id'),
    accountExists: db.prepare<[string], number>('SELECT 1 FROM accounts WHERE id = ?').pluck(),
    popInsert: db.prepare(
      'INSERT INTO pops (id, account_id, name, created_at) VALUES (@id, @accountId, @name, @createdAt)',
    ),
    popGet: db.prepare<[string], PopRow>('SELECT * FROM pops WHERE id = ?'),
    popList: db.prepare<[string], PopRow>('SELECT * FROM pops WHERE account_id = ? ORDER BY created_at, id'),
    oidcUpsert: db.prepare(
      `INSERT OR REPLACE INTO oidc_artifacts (model, id, payload, uid, user_code, grant_id, expires_at)
       VALUES (@model, @id, @payload, @uid, @userCode, @grantId, @expiresAt)`,
    ),
    oidcFind: db.prepare(
      `SELECT payload FROM oidc_artifacts
       WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)`,
    ),
    oidcByUid: db.prepare(
      `SELECT payload FROM oidc_artifacts
       WHERE model = ? AND uid = ? AND (expires_at IS NULL OR expires_at > ?)`,
    ),
    oidcByUserCode: db.prepare(
      `SELECT payload FROM oidc_artifacts
       WHERE model = ? AND user_code = ? AND (expires_at IS NULL OR expires_at > ?)`,
    ),
    oidcConsume: db.prepare(
      `UPDATE oidc_artifacts SET payload = json_set(payload, '$.consumed', ?)
       WHERE model = ? AND id = ?`,
    ),
    oidcDestroy: db.prepare('DELETE FROM oidc_artifacts WHERE model = ? AND id = ?'),
    oidcRevokeGrant: db.prepare('DELETE FROM oidc_artifacts WHERE grant_id = ?'),
    oidcPurge: db.prepare('DELETE FROM oidc_artifacts WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    auditInsert: db.prepare(
      `INSERT INTO audit_events (account_id, key_id, type, at, detail)
       VALUES (@accountId, @keyId, @type, @at, @detail)`,
    ),
    auditList: db.prepare('SELECT * FROM audit_events WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?'),
    auditListByKey: db.prepare(
      'SELECT * FROM audit_events WHERE account_id = ? AND key_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
    ),
  }
}
