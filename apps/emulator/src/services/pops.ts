import { randomBytes } from 'node:crypto'
import { type Clock } from '@eyepop/auth-core'
import { checkName } from './keys.js'
import type { EmulatorStore, PopRecord } from '../store/types.js'

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
export function createPopService(deps: { store: EmulatorStore; now: Clock }): PopService {
  const { store, now } = deps
  /**
   * Pops found by id: a Pop never changes or goes away, so a found one is kept (up to 10,000, the
   * oldest out first) and the Pop routes do not read the store on every request. A missing one is
   * looked up again each time: another process (the CLI) may create it.
   */
  const found = new Map<string, PopRecord>()
  return {
    async create(accountId, input) {
      const record: PopRecord = {
        // 32 lowercase hex characters, the shape of EyePop's Pop ids.
        id: randomBytes(16).toString('hex'),
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
      const known = found.get(id)
      if (known) return known
      const record = await store.pops.get(id)
      if (record) {
        if (found.size >= 10_000) found.delete(found.keys().next().value!)
        found.set(id, record)
      }
      return record
    },
  }
}
