import { describe, expect, it } from 'vitest'
import { openServices } from '../../src/services/services.js'
import { createMemoryEmulatorStore } from '../../src/store/memory-store.js'

/** The configurable limit of live keys per account. */

async function servicesWith(options: { maxKeysPerAccount?: number } = {}) {
  const services = await openServices(createMemoryEmulatorStore(), Date.now, options)
  return { services, accountId: services.defaultAccount.id }
}

describe('KeyService.create() and the key limit', () => {
  describe('with the default limit of 20', () => {
    it('creates 20 keys and refuses the 21st (limit_exceeded: 409 over HTTP)', async () => {
      const { services, accountId } = await servicesWith()
      for (let i = 1; i <= 20; i++) await services.keys.create(accountId, { name: `key ${i}` })
      await expect(services.keys.create(accountId, { name: 'key 21' })).rejects.toMatchObject({
        kind: 'limit_exceeded',
        message: 'this account has reached its limit of 20 api keys; delete one first',
      })
      expect(await services.keys.list(accountId)).toHaveLength(20)
    })
  })

  describe('with maxKeysPerAccount: 2', () => {
    it('counts only live keys: deleting one makes room again', async () => {
      const { services, accountId } = await servicesWith({ maxKeysPerAccount: 2 })
      const first = await services.keys.create(accountId, { name: 'one' })
      await services.keys.create(accountId, { name: 'two' })
      await expect(services.keys.create(accountId, { name: 'three' })).rejects.toMatchObject({
        kind: 'limit_exceeded',
        message: 'this account has reached its limit of 2 api keys; delete one first',
      })
      await services.keys.delete(accountId, first.id)
      await expect(services.keys.create(accountId, { name: 'three' })).resolves.toMatchObject({ name: 'three' })
    })

    it('counts per account: another account still has its own room', async () => {
      const { services, accountId } = await servicesWith({ maxKeysPerAccount: 1 })
      await services.keys.create(accountId, { name: 'mine' })
      const other = await services.accounts.create({ email: 'o@example.com', password: 'password1', name: 'O' })
      await expect(services.keys.create(other.id, { name: 'theirs' })).resolves.toMatchObject({ name: 'theirs' })
    })

    it('checks the name and expiry before the limit', async () => {
      const { services, accountId } = await servicesWith({ maxKeysPerAccount: 1 })
      await services.keys.create(accountId, { name: 'mine' })
      await expect(services.keys.create(accountId, { name: '' })).rejects.toMatchObject({ kind: 'invalid_input' })
      await expect(services.keys.create(accountId, { name: 'x', expires: '2d' })).rejects.toMatchObject({
        kind: 'invalid_input',
      })
    })
  })
})
