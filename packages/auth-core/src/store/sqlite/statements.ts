/**
 * auth-core's SQL, prepared once per connection.
 *
 * @module
 */
import type Database from 'better-sqlite3'
import { API_KEY_COLUMNS, type ApiKeyRow, type RevocationRow, type SigningKeyRow } from './rows.js'

type Run<P extends unknown[] | object = unknown[]> = Database.Statement<P>
type Read<P extends unknown[], R> = Database.Statement<P, R>

/** The key store's statements. */
export interface KeyStatements {
  keyInsert: Run<[object]>
  keyGet: Read<[string], ApiKeyRow>
  keyByHash: Read<[string], ApiKeyRow>
  keyList: Read<[string], ApiKeyRow>
  keyListAll: Read<[string], ApiKeyRow>
  keyCountLive: Read<[string], { n: number }>
  keyDelete: Run<[object]>
  keyUse: Run<[object]>
  revocationInsert: Run<[object]>
  revocationSince: Read<[number, number], RevocationRow>
  tokenRevoked: Read<[string], { n: number }>
  revocationPurge: Run<[number]>
  signingInsert: Run<[object]>
  signingList: Read<[], SigningKeyRow>
  signingRetire: Run<[object]>
  signingPrune: Run<[number]>
  settingGet: Read<[string], { value: string }>
  settingInsert: Run<[string, string]>
}

/** Prepares every statement of the key store on `db`. */
export function prepareKeyStatements(db: Database.Database): KeyStatements {
  return {
    keyInsert: db.prepare(
      `INSERT INTO api_keys (id, account_id, name, hash, hint, created_at, expires_at, last_used_at, deleted_at)
       VALUES (@id, @accountId, @name, @hash, @hint, @createdAt, @expiresAt, @lastUsedAt, @deletedAt)`,
    ),
    keyGet: db.prepare<[string], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`).raw(true),
    keyByHash: db.prepare<[string], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = ?`).raw(true),
    keyList: db
      .prepare<[string], ApiKeyRow>(
        `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE account_id = ? AND deleted_at IS NULL ORDER BY created_at, id`,
      )
      .raw(true),
    keyListAll: db
      .prepare<[string], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY created_at, id`)
      .raw(true),
    keyCountLive: db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM api_keys WHERE account_id = ? AND deleted_at IS NULL',
    ),
    keyDelete: db.prepare('UPDATE api_keys SET deleted_at = @at WHERE id = @id AND deleted_at IS NULL'),
    keyUse: db.prepare(
      `UPDATE api_keys SET last_used_at = @at
       WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)`,
    ),
    revocationInsert: db.prepare(
      `INSERT OR IGNORE INTO revocations (kind, subject, revoked_at, expires_at)
       VALUES (@kind, @subject, @at, @expiresAt)`,
    ),
    revocationSince: db.prepare<[number, number], RevocationRow>(
      'SELECT * FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    tokenRevoked: db.prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM revocations WHERE kind = 'token' AND subject = ?",
    ),
    revocationPurge: db.prepare("DELETE FROM revocations WHERE kind = 'token' AND expires_at <= ?"),
    signingInsert: db.prepare(
      `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, retired_at)
       VALUES (@kid, @alg, @privateJwk, @publicJwk, @createdAt, @retiredAt)`,
    ),
    signingList: db.prepare<[], SigningKeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    signingRetire: db.prepare(
      'UPDATE signing_keys SET retired_at = @at WHERE kid <> @kid AND retired_at IS NULL',
    ),
    signingPrune: db.prepare('DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?'),
    settingGet: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE name = ?'),
    settingInsert: db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)'),
  }
}
