/**
 * Opening a SQLite file the way every store on it expects, and the one mapping of SQLite's
 * constraint failures to the store's errors.
 *
 * @module
 */
import { chmodSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { Conflict, NotFound, StoreError } from '../../errors.js'

/** Whether `filename` names a file (not `:memory:` or a temporary database). */
export function isOnDisk(filename: string): boolean {
  return filename !== ':memory:' && filename !== ''
}

/**
 * Opens `filename` (its folder created if missing, owner-only: the file holds the key-hash pepper
 * and private signing keys) in WAL mode, with foreign keys on, then runs `prepare` on it (the
 * migrations). A file that cannot be opened or prepared is closed again, never left open behind
 * the error.
 *
 * @throws {StoreError} when the file cannot be opened, is not a database, or `prepare` fails
 */
export function openSqliteDatabase(
  filename: string,
  options: { busyTimeoutMs: number; prepare: (db: Database.Database) => void },
): Database.Database {
  const onDisk = isOnDisk(filename)
  if (onDisk) mkdirSync(dirname(filename), { recursive: true, mode: 0o700 })
  try {
    const db = new Database(filename, { timeout: options.busyTimeoutMs })
    try {
      if (onDisk) chmodSync(filename, 0o600)
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      // Reads through a memory map: a key lookup in a large store costs no read() call per page.
      db.pragma('mmap_size = 268435456')
      db.pragma('foreign_keys = ON')
      options.prepare(db)
      return db
    } catch (err) {
      db.close()
      throw err
    }
  } catch (err) {
    if (err instanceof StoreError) throw err
    // SQLite's and the driver's reasons (a file that is not a database, a folder, a native module
    // built for another Node) name no secret: they say what to fix.
    const reason = err instanceof Error ? err.message.split('\n', 1)[0] : String(err)
    throw new StoreError(`cannot open the sqlite store: ${reason}`, { cause: err })
  }
}

/**
 * Runs an insert, turning SQLite's constraint failures into the store's errors: a foreign key
 * into `NotFound`, any other (unique, primary key) into `Conflict`. `what` names the record.
 *
 * @throws {Conflict} when the record already exists
 * @throws {NotFound} when it refers to a record that does not exist
 */
export function insertRecord(fn: () => unknown, what: string): void {
  try {
    fn()
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      throw new NotFound(`${what} refers to a record that does not exist`, { cause: err })
    }
    if (code?.startsWith('SQLITE_CONSTRAINT')) {
      throw new Conflict(`${what} already exists`, { cause: err })
    }
    throw err
  }
}
