import { join, resolve } from 'node:path'
import { DATABASE_FILENAME, type EmulatorConfig } from '../config/defaults.js'
import { createMemoryEmulatorStore } from './memory-store.js'
import { createPostgresEmulatorStore } from './postgres-store.js'
import { createSqliteEmulatorStore } from './sqlite-store.js'
import type { EmulatorStore } from './types.js'

/** Where {@link openStore} opens the store: the configuration's `databaseUrl` and `dataDir`. */
export type StoreLocation = Pick<EmulatorConfig, 'dataDir' | 'databaseUrl'>

/**
 * Opens the store the configuration names:
 * - with `databaseUrl`, the PostgreSQL database there (migrated as needed), shared with every
 *   emulator and CLI command given the same URL; `dataDir` is not used;
 * - else with a `dataDir`, its SQLite file (`{dataDir}/emulator.db`, created if missing). A server
 *   (`serving`) checkpoints the WAL on a thread of its own, so no request waits for one; a CLI
 *   command, which lives for a moment, checkpoints inline;
 * - else (`dataDir` is `null`) a store in memory (development only: lost on exit, invisible to the
 *   CLI).
 *
 * `now` expires what the store expires.
 *
 * @throws {errors.StoreError} when the database or the file cannot be opened (never with the
 *   database's password), or was written by newer software
 */
export async function openStore(
  { dataDir, databaseUrl }: StoreLocation,
  { serving = false, now = Date.now }: { serving?: boolean; now?: () => number } = {},
): Promise<EmulatorStore> {
  if (databaseUrl !== undefined) {
    return createPostgresEmulatorStore({ connectionString: databaseUrl, now })
  }
  if (dataDir === null) return createMemoryEmulatorStore({ now })
  return createSqliteEmulatorStore({
    filename: join(resolve(dataDir), DATABASE_FILENAME),
    checkpoint: serving ? 'background' : 'inline',
    now,
  })
}
