import type { Adapter, AdapterPayload } from 'oidc-provider'
import type { EmulatorStore, OidcPayload } from '../store/types.js'

/**
 * oidc-provider's adapter contract (`upsert/find/findByUid/findByUserCode/consume/destroy/
 * revokeByGrantId`) over the store's oidc artifact repository, so sessions, grants and codes live
 * in the same SQLite file as keys and survive a restart.
 */
export function createAdapterClass(store: EmulatorStore) {
  return class StoreAdapter implements Adapter {
    readonly name: string

    constructor(name: string) {
      this.name = name
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      await store.oidc.upsert(this.name, id, payload as OidcPayload, expiresIn)
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return (await store.oidc.find(this.name, id)) as AdapterPayload | undefined
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return (await store.oidc.findByUid(this.name, uid)) as AdapterPayload | undefined
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return (await store.oidc.findByUserCode(this.name, userCode)) as AdapterPayload | undefined
    }

    async consume(id: string): Promise<void> {
      await store.oidc.consume(this.name, id)
    }

    async destroy(id: string): Promise<void> {
      await store.oidc.destroy(this.name, id)
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await store.oidc.revokeByGrantId(grantId)
    }
  }
}
