import { startPostgresServer, type PostgresServer } from '@eyepop/real-sdks/testing/postgres-server'
import { afterAll, beforeAll, beforeEach } from 'vitest'

/** The PostgreSQL server of a test file and the database of its current case. */
export interface DatabasePerCase {
  readonly server: PostgresServer
  /** A new, empty database for each case. */
  readonly databaseUrl: string
}

/**
 * Starts a throwaway PostgreSQL server for the calling test file (stopped after it) and makes a
 * database for each case. Each case waits for the server: where it cannot start, every case fails
 * with its reason, never skips.
 */
export function useDatabasePerCase(): DatabasePerCase {
  let started: Promise<PostgresServer>
  let server: PostgresServer | undefined
  let databaseUrl: string | undefined
  beforeAll(() => {
    started = startPostgresServer()
    started.catch(() => {})
  })
  beforeEach(async () => {
    server = await started
    databaseUrl = server.url(await server.createDatabase())
  }, 60_000)
  afterAll(async () => {
    await server?.close()
  })
  return {
    get server() {
      if (!server) throw new Error('the PostgreSQL server is not started yet (read it inside a case)')
      return server
    },
    get databaseUrl() {
      if (databaseUrl === undefined) throw new Error('no database yet (read it inside a case)')
      return databaseUrl
    },
  }
}
