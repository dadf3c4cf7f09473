/**
 * auth-core's key store as the emulator's stores hold it: its tables know no accounts, so a key of
 * an account the emulator does not have is refused here, the same in every store.
 *
 * @module
 */
import { errors, type ApiKeyRecord, type KeyStore } from '@eyepop/auth-core'

/** The key store's repositories, with `apiKeys.create` and `createWithinLimit` checking the key's account first. */
export type AccountKeys = Pick<KeyStore, 'description' | 'apiKeys' | 'signingKeys' | 'revocations' | 'settings'>

/**
 * `keys`, its `apiKeys.create` and `createWithinLimit` refusing an account for which
 * `accountExists` is false with `NotFound`. Accounts are never deleted, so one cannot vanish
 * between the check and the insert.
 */
export function withAccountCheck(keys: KeyStore, accountExists: (id: string) => boolean | Promise<boolean>): AccountKeys {
  async function checkAccount(record: ApiKeyRecord): Promise<void> {
    if (!(await accountExists(record.accountId))) {
      throw new errors.NotFound('api key refers to a record that does not exist')
    }
  }
  return {
    description: keys.description,
    apiKeys: {
      ...keys.apiKeys,
      async create(record) {
        await checkAccount(record)
        return keys.apiKeys.create(record)
      },
      async createWithinLimit(record, maxLive) {
        await checkAccount(record)
        return keys.apiKeys.createWithinLimit(record, maxLive)
      },
    },
    signingKeys: keys.signingKeys,
    revocations: keys.revocations,
    settings: keys.settings,
  }
}
