/**
 * The emulator's SQL for PostgreSQL, as named prepared statements: each connection of the pool
 * parses and plans a statement once, the first time it runs it, then only binds values.
 *
 * @module
 */
import type { QueryConfig } from 'pg'

/** A statement's name (unique per connection, apart from auth-core's `auth-core/…`) and text. */
interface Statement {
  readonly name: string
  readonly text: string
}

function statement(name: string, text: string): Statement {
  return { name: `emulator/${name}`, text }
}

/** Binds `values` to a statement. */
export function bind(s: Statement, values: unknown[]): QueryConfig {
  return { ...s, values }
}

const ACCOUNT_COLUMNS = 'id, email, name, created_at, password_hash'
const POP_COLUMNS = 'id, account_id, name, created_at'
const AUDIT_COLUMNS = 'id, account_id, key_id, type, at, detail'
/** A live artifact: no expiry, or one after `$3` (ms). */
const LIVE = '(expires_at IS NULL OR expires_at > $3)'

/** The emulator store's statements. */
export const EMULATOR_STATEMENTS = {
  accountInsert: statement(
    'account-insert',
    'INSERT INTO accounts (id, email, name, created_at, password_hash) VALUES ($1, $2, $3, $4, $5)',
  ),
  accountSetPassword: statement('account-set-password', 'UPDATE accounts SET password_hash = $2 WHERE id = $1'),
  accountGet: statement('account-get', `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`),
  // Through the unique index on lower(email).
  accountByEmail: statement('account-by-email', `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE lower(email) = lower($1)`),
  accountList: statement('account-list', `SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, id`),
  accountExists: statement('account-exists', 'SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1) AS found'),
  popInsert: statement('pop-insert', 'INSERT INTO pops (id, account_id, name, created_at) VALUES ($1, $2, $3, $4)'),
  popGet: statement('pop-get', `SELECT ${POP_COLUMNS} FROM pops WHERE id = $1`),
  popList: statement('pop-list', `SELECT ${POP_COLUMNS} FROM pops WHERE account_id = $1 ORDER BY created_at, id`),
  oidcUpsert: statement(
    'oidc-upsert',
    `INSERT INTO oidc_artifacts (model, id, payload, uid, user_code, grant_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, uid = excluded.uid,
       user_code = excluded.user_code, grant_id = excluded.grant_id, expires_at = excluded.expires_at`,
  ),
  oidcFind: statement('oidc-find', `SELECT payload FROM oidc_artifacts WHERE model = $1 AND id = $2 AND ${LIVE}`),
  oidcByUid: statement('oidc-by-uid', `SELECT payload FROM oidc_artifacts WHERE model = $1 AND uid = $2 AND ${LIVE} LIMIT 1`),
  oidcByUserCode: statement(
    'oidc-by-user-code',
    `SELECT payload FROM oidc_artifacts WHERE model = $1 AND user_code = $2 AND ${LIVE} LIMIT 1`,
  ),
  oidcConsume: statement(
    'oidc-consume',
    "UPDATE oidc_artifacts SET payload = jsonb_set(payload, '{consumed}', to_jsonb($1::bigint)) WHERE model = $2 AND id = $3",
  ),
  oidcDestroy: statement('oidc-destroy', 'DELETE FROM oidc_artifacts WHERE model = $1 AND id = $2'),
  oidcRevokeGrant: statement('oidc-revoke-grant', 'DELETE FROM oidc_artifacts WHERE grant_id = $1'),
  oidcPurge: statement('oidc-purge', 'DELETE FROM oidc_artifacts WHERE expires_at IS NOT NULL AND expires_at <= $1'),
  // A batch in one statement (so one transaction), numbered in the batch's order: rows are
  // inserted, and take their identity, in the order the sort by ordinality gives.
  auditInsert: statement(
    'audit-insert',
    `INSERT INTO audit_events (account_id, key_id, type, at, detail)
     SELECT account_id, key_id, type, at, detail
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::jsonb[])
       WITH ORDINALITY AS e(account_id, key_id, type, at, detail, n)
     ORDER BY n`,
  ),
  auditList: statement(
    'audit-list',
    `SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
  ),
  auditListByKey: statement(
    'audit-list-by-key',
    `SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE account_id = $1 AND key_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4`,
  ),
} satisfies Record<string, Statement>
