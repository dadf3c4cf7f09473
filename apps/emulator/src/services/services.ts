import { randomBytes } from 'node:crypto'
import type { AccountRecord, Clock, Store } from '@eyepop/auth-core'
import { ensureDefaultAccount } from './accounts.js'
import { createKeyService, type KeyService } from './keys.js'
import { createPopService, type PopService } from './pops.js'

/** The services over one store, shared by the HTTP app and the CLI. */
export interface Services {
  readonly store: Store
  /** The server secret API key hashes are keyed with. Secret. */
  readonly pepper: Uint8Array
  readonly defaultAccount: AccountRecord
  readonly keys: KeyService
  readonly pops: PopService
  readonly now: Clock
}

/**
 * Opens the services of a store: settles the key-hash pepper and the default account (both
 * created on first use, and safe when the emulator and the CLI start on a new data dir at once).
 */
export async function openServices(store: Store, now: Clock = Date.now): Promise<Services> {
  const pepper = Buffer.from(
    await store.settings.setIfAbsent('api_key_pepper', randomBytes(32).toString('base64url')),
    'base64url',
  )
  const defaultAccount = await ensureDefaultAccount(store, now())
  return {
    store,
    pepper,
    defaultAccount,
    keys: createKeyService({ store, pepper, now }),
    pops: createPopService({ store, now }),
    now,
  }
}
