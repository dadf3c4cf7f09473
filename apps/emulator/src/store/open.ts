import { join, resolve } from 'node:path'
import { DATABASE_FILENAME } from '../config/defaults.js'
import { createMemoryEmulatorStore } from './memory-store.js'
import { createSqliteEmulatorStore } from './sqlite-store.js'
import type { EmulatorStore } from './types.js'

/**
 * Opens the store of a data dir (`{dataDir}/emulator.db`, created if missing), or an in-memory
 * store when `dataDir` is `null` (development only: lost on exit, invisible to the CLI). A server
 * (`serving`) checkpoints the WAL on a thread of its own, so no request waits for one; a CLI
 * command, which lives for a moment, checkpoints inline.
 */
export function openStore(dataDir: string | null, { serving = false }: { serving?: boolean } = {}): EmulatorStore {
  if (dataDir === null) return createMemoryEmulatorStore()
  return createSqliteEmulatorStore({
    filename: join(resolve(dataDir), DATABASE_FILENAME),
    checkpoint: serving ? 'background' : 'inline',
  })
}
