/**
 * auth-core's SQL for PostgreSQL, as named prepared statements: each connection of the pool parses
 * and plans a statement once, the first time it runs it, then only binds values.
 *
 * @module
 */
import type { QueryConfig } from 'pg'
import { API_KEY_COLUMNS } from '../sqlite/rows.js'

/** A statement's name (unique per connection) and text; values are bound per call. */
interface Statement {
  readonly name: string
  readonly text: string
  /** Rows as arrays (cheaper than an object per row), for `api_keys` reads. */
  readonly rowMode?: 'array'
}

function statement(name: string, text: string, rowMode?: 'array'): Statement {
  return { name: `auth-core/${name}`, text, ...(rowMode ? { rowMode } : {}) }
}

/** Binds `values` to a statement. */
export function bind(s: Statement, values: unknown[]): QueryConfig {
  return { ...s, values }
}

/**
 * The lock that orders the revocation feed, taken by every transaction that appends to it (one per
 * schema). A sequence hands out numbers in the order rows are inserted, not the order they commit:
 * without it, a reader could see entry 6 committed before entry 5 and move its cursor past 5 for
 * good. Under the lock an entry commits before the next one takes its number, so a cursor never
 * skips one. Appends are rare (a key deleted, a token revoked), and readers never take it.
 */
const FEED_LOCK = "pg_advisory_xact_lock(hashtext('eyepop.revocations:' || current_schema()))"

/** The key store's statements. */
export const KEY_STATEMENTS = {
  keyInsert: statement(
    'key-insert',
    `INSERT INTO api_keys (id, account_id, name, hash, hint, created_at, expires_at, last_used_at, deleted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  ),
  keyGet: statement('key-get', `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = $1`, 'array'),
  keyByHash: statement('key-by-hash', `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = $1`, 'array'),
  /** The keys of several hashes at once (a turn's lookups), in no particular order. */
  keysByHash: statement('keys-by-hash', `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = ANY($1::text[])`, 'array'),
  keyList: statement(
    'key-list',
    `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE account_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`,
    'array',
  ),
  keyListAll: statement(
    'key-list-all',
    `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY created_at, id`,
    'array',
  ),
  keyCountLive: statement(
    'key-count-live',
    'SELECT count(*) AS n FROM api_keys WHERE account_id = $1 AND deleted_at IS NULL',
  ),
  feedLock: statement('feed-lock', `SELECT ${FEED_LOCK}`),
  // One account's creations within its limit take turns (per schema); other accounts' do not wait.
  keyLimitLock: statement(
    'key-limit-lock',
    "SELECT pg_advisory_xact_lock(hashtext('eyepop.api-key-limit:' || current_schema() || ':' || $1::text))",
  ),
  keyDelete: statement(
    'key-delete',
    'UPDATE api_keys SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id',
  ),
  keyDeletedInsert: statement(
    'key-deleted-insert',
    `INSERT INTO revocations (kind, subject, revoked_at) VALUES ('key', $1, $2)
     ON CONFLICT (kind, subject) DO NOTHING`,
  ),
  // One statement for the whole batch: the newest time per key, rows locked in id order (so two
  // instances writing overlapping batches at once queue up rather than deadlock), and a time older
  // than the stored one ignored.
  keyUse: statement(
    'key-use',
    `WITH uses AS (
       SELECT id, max(at) AS at FROM unnest($1::text[], $2::bigint[]) AS u(id, at) GROUP BY id
     ), locked AS (
       SELECT k.id FROM api_keys k JOIN uses USING (id) ORDER BY k.id FOR UPDATE OF k
     )
     UPDATE api_keys AS k SET last_used_at = uses.at
     FROM uses JOIN locked USING (id)
     WHERE k.id = uses.id AND (k.last_used_at IS NULL OR k.last_used_at < uses.at)`,
  ),
  // The lock, then the insert, in the statement's own transaction.
  tokenRevoke: statement(
    'token-revoke',
    `WITH feed_lock AS (SELECT ${FEED_LOCK})
     INSERT INTO revocations (kind, subject, revoked_at, expires_at)
     SELECT 'token', $1::text, $3::bigint, $2::bigint FROM feed_lock
     ON CONFLICT (kind, subject) DO NOTHING`,
  ),
  revocationSince: statement(
    'revocation-since',
    'SELECT seq, kind, subject, revoked_at, expires_at FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2',
  ),
  tokenRevoked: statement(
    'token-revoked',
    "SELECT EXISTS (SELECT 1 FROM revocations WHERE kind = 'token' AND subject = $1) AS revoked",
  ),
  revocationPurge: statement('revocation-purge', "DELETE FROM revocations WHERE kind = 'token' AND expires_at <= $1"),
  signingInsert: statement(
    'signing-insert',
    `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, retired_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
  ),
  signingList: statement('signing-list', 'SELECT * FROM signing_keys ORDER BY created_at, kid'),
  signingRetire: statement(
    'signing-retire',
    'UPDATE signing_keys SET retired_at = $2 WHERE kid <> $1 AND retired_at IS NULL',
  ),
  signingPrune: statement('signing-prune', 'DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1'),
  settingGet: statement('setting-get', 'SELECT value FROM settings WHERE name = $1'),
  settingInsert: statement(
    'setting-insert',
    'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
  ),
} satisfies Record<string, Statement>
