/**
 * Runs in the installed project: `@eyepop/auth-core/postgres` with `pg` installed beside it (an
 * optional peer, which a user of the subpath adds), as an application meets it before it has a
 * database: its failures are the main entry's error classes, without the connection's password.
 */
import { errors } from '@eyepop/auth-core'
import { createPostgresStore } from '@eyepop/auth-core/postgres'
import { describe, expect, it } from 'vitest'

describe('@eyepop/auth-core/postgres from the installed package', () => {
  it('rejects a database nobody listens on with the main entry\'s StoreError, without the password', async () => {
    const err = await createPostgresStore({ connectionString: 'postgres://app:s3cret-pw@127.0.0.1:1/keys' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(errors.StoreError)
    expect(err).toMatchObject({ code: 'ERR_STORE' })
    expect((err as Error).message).not.toContain('s3cret-pw')
  })

  it('needs a connection string or a pool', async () => {
    await expect(createPostgresStore({})).rejects.toThrow(TypeError)
  })
})
