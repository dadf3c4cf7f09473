/**
 * auth-core's key store as the emulator's stores hold it: its tables know no accounts, so a key of
 * an account the emulator does not have is refused here, the same in every store.
 *
 * @module
 */
import { errors, type KeyStore } from '@eyepop/auth-core'

/** The key store's repositories, with `apiKeys.create` checking the key's account first. */
export type AccountKeys = Pick<KeyStore, 'description' | 'apiKeys' | 'signingKeys' | 'revocations' | 'settings'>

/**
 * `keys`, its `apiKeys.create` refusing an account for which `accountExists` is false with
 * `NotFound`. Accounts are never deleted, so one cannot vanish between the check and the insert.
 */
export function withAccountCheck(keys: KeyStore, accountExists: (id: string) => boolean | Promise<boolean>): AccountKeys {
  return {
    description: keys.description,
    apiKeys: {
      ...keys.apiKeys,
      async create(record) {
        if (!(await accountExists(record.accountId))) {
          throw new errors.NotFound('api key refers to a record that does not exist')
        }
        return keys.apiKeys.create(record)
      },
    },
    signingKeys: keys.signingKeys,
    revocations: keys.revocations,
    settings: keys.settings,
  }
}
