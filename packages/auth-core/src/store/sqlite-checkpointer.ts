import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** A WAL checkpointer on a thread of its own (see {@link startBackgroundCheckpointer}). */
export interface BackgroundCheckpointer {
  /** Runs a last checkpoint, closes the thread's connection and ends the thread. */
  stop(): Promise<void>
}

/** Options of {@link startBackgroundCheckpointer}. */
export interface BackgroundCheckpointerOptions {
  /** How often (in milliseconds) to checkpoint. Default is 1000. */
  intervalMs?: number
  /** How long (in milliseconds) the thread's connection waits for a lock. Default is 5000. */
  busyTimeoutMs?: number
  /**
   * The WAL size (in pages) from which a checkpoint also empties the WAL, holding writers back for
   * as long as it takes. Default is 1000, the size at which SQLite's own checkpoint runs.
   */
  truncatePages?: number
  /** Called when the thread fails (it has then stopped). Default: ignored. */
  onExit?: (err: Error) => void
}

// The worker runs as CommonJS (`eval`), so the module needs no file of its own next to a bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.filename, { timeout: workerData.busyTimeoutMs })
const checkpoint = () => {
  const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)')
  // Under writes that never pause, every PASSIVE checkpoint ends a few frames behind the last
  // commit, so the WAL never starts over and grows without bound: past the limit, a TRUNCATE
  // checkpoint holds writers back while it copies the frames since the PASSIVE one (a few ms),
  // then empties the file.
  if (log >= workerData.truncatePages) db.pragma('wal_checkpoint(TRUNCATE)')
}
const timer = setInterval(checkpoint, workerData.intervalMs)
parentPort.once('message', () => {
  clearInterval(timer)
  try { checkpoint() } finally { db.close(); parentPort.close() }
})
`

/**
 * Checkpoints a WAL database from a worker thread with its own connection, so that copying the
 * WAL into the database file (and its fsync) never holds the event loop: with SQLite's automatic
 * checkpoint, the commit that crosses 1,000 WAL pages runs one inline, ≈ 15 ms for a full WAL on a
 * large store, and every request behind it waits. The caller turns the automatic checkpoint off on
 * its own connection (`PRAGMA wal_autocheckpoint = 0`) and back on if the thread stops.
 * PASSIVE checkpoints never block readers or writers; one that meets an open read transaction
 * copies what it can and the next one continues. Once the WAL holds `truncatePages` pages (writes
 * that never pause), a TRUNCATE checkpoint follows the PASSIVE one and empties it.
 */
export function startBackgroundCheckpointer(filename: string, options: BackgroundCheckpointerOptions = {}): BackgroundCheckpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      filename,
      // Resolved here: the thread has no module of its own to resolve from.
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      intervalMs: options.intervalMs ?? 1000,
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      truncatePages: options.truncatePages ?? 1000,
    },
  })
  // A background task: it never keeps the process alive.
  worker.unref()
  let stopping = false
  let failure: Error | undefined
  const exited = new Promise<void>((resolve) => {
    worker.once('error', (err) => (failure = err))
    worker.once('exit', (code) => {
      if (!stopping) options.onExit?.(failure ?? new Error(`the checkpoint thread exited with code ${code}`))
      resolve()
    })
  })
  return {
    async stop() {
      if (!stopping) {
        stopping = true
        // Kept alive until it has exited: a process waiting on nothing else would end first.
        worker.ref()
        worker.postMessage('stop')
      }
      await exited
    },
  }
}
