import { join, resolve } from 'node:path'
import { DATABASE_FILENAME } from '../config/defaults.js'
import { createMemoryEmulatorStore } from './memory-store.js'
import { createSqliteEmulatorStore } from './sqlite-store.js'
import type { EmulatorStore } from './types.js'

/**
 * Opens the store of a data dir (`{dataDir}/emulator.db`, created if missing), or an in-memory
 * store when `dataDir` is `null` (development only: lost on exit, invisible to the CLI). A server
 * (`serving`) checkpoints the WAL on a thread of its own, so no request waits for one; a CLI
 * command, which lives for a moment, checkpoints inline. `now` expires what the store expires.
 */
export function openStore(
  dataDir: string | null,
  { serving = false, now = Date.now }: { serving?: boolean; now?: () => number } = {},
): EmulatorStore {
  if (dataDir === null) return createMemoryEmulatorStore({ now })
  return createSqliteEmulatorStore({
    filename: join(resolve(dataDir), DATABASE_FILENAME),
    checkpoint: serving ? 'background' : 'inline',
    now,
  })
}
