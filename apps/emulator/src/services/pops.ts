import { newPopId, type Clock, type PopRecord, type Store } from '@eyepop/auth-core'
import { checkName } from './keys.js'

/** A Pop as shown to its owner. */
export interface PopView {
  id: string
  name: string
  createdAt: string
}

/** The view of a Pop record. */
export function toPopView(record: PopRecord): PopView {
  return { id: record.id, name: record.name, createdAt: new Date(record.createdAt).toISOString() }
}

/** Pop management for one store, shared by the CLI and the HTTP API. */
export interface PopService {
  create(accountId: string, input: { name: unknown }): Promise<PopView>
  list(accountId: string): Promise<PopView[]>
  /** The Pop with this id whatever its account, for access checks. */
  find(id: string): Promise<PopRecord | undefined>
}

/** Creates the Pop service. */
export function createPopService(deps: { store: Store; now: Clock }): PopService {
  const { store, now } = deps
  return {
    async create(accountId, input) {
      const record: PopRecord = {
        id: newPopId(),
        accountId,
        name: checkName(input.name),
        createdAt: now(),
      }
      await store.pops.create(record)
      return toPopView(record)
    },
    async list(accountId) {
      return (await store.pops.list(accountId)).map(toPopView)
    },
    async find(id) {
      if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) return undefined
      return store.pops.get(id)
    },
  }
}
