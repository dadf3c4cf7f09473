/**
 * Sets the stored last use of the keys in a seeded store, between load runs, while its emulator
 * runs (WAL: the emulator reads the new values at its next lookup, and keeps no copy of them).
 *
 * @module
 */
import Database from 'better-sqlite3'

/**
 * - `within-the-hour`: spread evenly over the past hour, the state of keys in steady use (a
 *   key's last use is written at most once an hour, so in a 5 s run about 1 key in 720 is
 *   written, as in service). Only keys not used within the hour are set (all of them the first
 *   time): a run keeps the others in that state by itself, and those that passed their hour while
 *   the store sat idle between runs are put back within it.
 * - `a-day-ago`: every key idle for a day, so that each request of the next run is its key's
 *   first use in the hour and costs a write (the burst when idle keys all start at once).
 */
export type KeysLastUsed = 'within-the-hour' | 'a-day-ago'

const HOUR_MS = 3_600_000

/** Options of {@link setKeysLastUsed}. */
export interface SetKeysLastUsedOptions {
  /** The time the last uses are relative to (ms). Default is now. */
  now?: number
  /** How long (in milliseconds) to wait for the emulator's lock. Default is 5000. */
  timeoutMs?: number
}

/**
 * Writes the keys' last use as `mode` says, then checkpoints the WAL into the database file, so
 * the emulator's next reads come from the mapped file as before. Returns how many keys it set.
 * Throws if the checkpoint could not complete (a reader held it).
 */
export function setKeysLastUsed(dbFile: string, mode: KeysLastUsed, options: SetKeysLastUsedOptions = {}): number {
  const now = options.now ?? Date.now()
  const db = new Database(dbFile, { timeout: options.timeoutMs ?? 5000 })
  try {
    let changed: number
    if (mode === 'a-day-ago') {
      changed = db.prepare('UPDATE api_keys SET last_used_at = ?').run(now - 24 * HOUR_MS).changes
    } else {
      // Seconds 0-3599 before now, scattered over the keys by the last three characters of
      // their random ids (the table has no rowid: it is ordered by key hash).
      changed = db.prepare(
        `UPDATE api_keys SET last_used_at = @now - (((unicode(substr(id, -1)) * 3844
           + unicode(substr(id, -2, 1)) * 62 + unicode(substr(id, -3, 1))) * 7919) % 3600) * 1000
         WHERE last_used_at IS NULL OR last_used_at <= @now - ${HOUR_MS}`,
      ).run({ now }).changes
    }
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>
    if (result?.busy !== 0) throw new Error(`could not checkpoint ${dbFile} after setting the keys' last use`)
    return changed
  } finally {
    db.close()
  }
}
