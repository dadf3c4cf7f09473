/**
 * auth-core's key store as the emulator's stores hold it: its tables know no accounts, so a key of
 * an account the emulator does not have is refused here, the same in every store.
 *
 * @module
 */
import { errors, type ApiKeyRecord, type KeyStore } from '@eyepop/auth-core'
import type { EmulatorApiKeyRepository } from './types.js'

/** The key store's repositories, with `apiKeys.create` checking the key's account first. */
export type AccountKeys = Pick<KeyStore, 'description' | 'signingKeys' | 'revocations' | 'settings'> & {
  readonly apiKeys: EmulatorApiKeyRepository
}

/**
 * `keys`, its `apiKeys.create` refusing an account for which `accountExists` is false with
 * `NotFound`. Accounts are never deleted, so one cannot vanish between the check and the insert.
 */
export function withAccountCheck(keys: KeyStore, accountExists: (id: string) => boolean | Promise<boolean>): AccountKeys {
  async function create(record: ApiKeyRecord): Promise<void> {
    if (!(await accountExists(record.accountId))) {
      throw new errors.NotFound('api key refers to a record that does not exist')
    }
    return keys.apiKeys.create(record)
  }
  /** Per account, the last creation within its limit, which the next one waits for. */
  const turns = new Map<string, Promise<unknown>>()
  return {
    description: keys.description,
    apiKeys: {
      ...keys.apiKeys,
      create,
      // One account's creations take turns in this process, each counting what the one before
      // wrote. The PostgreSQL store replaces this with a lock in the database, for every instance.
      async createWithinLimit(record, maxLive) {
        const { accountId } = record
        const turn = (turns.get(accountId) ?? Promise.resolve())
          .catch(() => undefined)
          .then(async () => {
            if ((await keys.apiKeys.countLive(accountId)) >= maxLive) return false
            await create(record)
            return true
          })
        turns.set(accountId, turn)
        try {
          return await turn
        } finally {
          if (turns.get(accountId) === turn) turns.delete(accountId)
        }
      },
    },
    signingKeys: keys.signingKeys,
    revocations: keys.revocations,
    settings: keys.settings,
  }
}
