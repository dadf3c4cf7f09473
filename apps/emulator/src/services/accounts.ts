import { errors, newAccountId, type AccountRecord, type Store } from '@eyepop/auth-core'

/** The development account every store has from its first start. */
export const DEFAULT_ACCOUNT = Object.freeze({
  email: 'dev@eyepop.local',
  name: 'Development account',
})

/**
 * The default development account, created on first use. Safe when the emulator and the CLI
 * open a new data dir at the same time: the account id is settled through `setIfAbsent`.
 */
export async function ensureDefaultAccount(store: Store, now: number): Promise<AccountRecord> {
  const id = await store.settings.setIfAbsent('default_account_id', newAccountId())
  const existing = await store.accounts.get(id)
  if (existing) return existing
  try {
    await store.accounts.create({ id, ...DEFAULT_ACCOUNT, createdAt: now })
  } catch (err) {
    if (!(err instanceof errors.Conflict)) throw err
  }
  return (await store.accounts.get(id))!
}
