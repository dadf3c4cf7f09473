/**
 * What a test does to a running emulator, the same from the in-process harness and from the HTTP
 * test control: seed accounts, keys and Pops, mint temporary keys, read the audit log.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { RunningServer } from '../main.js'
import type { CreatedKey } from '../services/keys.js'
import type { AuditEvent } from '../store/types.js'

/** What {@link TestOperations.createApiKey} takes. */
export interface CreateApiKeyInput {
  /** A memorable name. Default is `test key`. */
  name?: string
  /** When it expires: `7d`, `30d`, `90d`, `365d` or `never`. Default is `never`. */
  expires?: string
  /** The account. Default: the default account. */
  accountId?: string
}

/** What {@link TestOperations.createAccount} takes. */
export interface CreateAccountInput {
  /** The sign-in email. Default: a new `…@example.test` address. */
  email?: string
  /** The sign-in password, 8 to 200 characters. Default is `test-password`. */
  password?: string
  /** A display name. Default is `Test`. */
  name?: string
}

/** What {@link TestOperations.createTemporaryKey} takes: as `POST /v1/auth/client-sessions`. */
export interface CreateTemporaryKeyInput {
  /** The API key that mints it (a server's), as in the real flow. */
  apiKey: string
  /** The Pop it is bound to. */
  popId: string
  /** Its lifetime in seconds. Default: the emulator's `--temporary-key-ttl`. */
  ttlSeconds?: number
  /** The browser origins it may be used from. Default: any. */
  allowedOrigins?: string[]
  /** Scopes, a subset of the API key's. Default: the temporary key's default scopes. */
  scopes?: string[]
}

/** A temporary key: the session a server hands to its browser or mobile client. */
export interface TemporaryKeySession {
  eyepopUrl: string
  accessToken: string
  /** When it stops working (ms since the epoch, on the emulator's clock). */
  validUntil: number
  popId: string
}

/** The test operations on one running emulator (see {@link createTestOperations}). */
export interface TestOperations {
  /** The default account: where keys and Pops go unless another is named. */
  account(): { id: string; email: string }
  /** Creates an API key; the key itself is in the result, and nowhere else afterwards. */
  createApiKey(input?: CreateApiKeyInput): Promise<CreatedKey>
  /** Deletes an API key of the default account (or of `accountId`): its tokens are refused at once. */
  deleteApiKey(id: string, accountId?: string): Promise<void>
  /** Creates a Pop. */
  createPop(input?: { name?: string; accountId?: string }): Promise<{ id: string; name: string; createdAt: string }>
  /** Creates an account that can sign in to the dashboard. */
  createAccount(input?: CreateAccountInput): Promise<{ id: string; email: string; name: string }>
  /** Mints a temporary key, as a server does through `POST /v1/auth/client-sessions`. */
  createTemporaryKey(input: CreateTemporaryKeyInput): Promise<TemporaryKeySession>
  /** The audit log of the default account (or of `accountId`), newest first. */
  auditEvents(options?: { accountId?: string; keyId?: string; limit?: number }): Promise<AuditEvent[]>
}

/** The test operations of `running`, always on the emulator serving now (also after a reset). */
export function createTestOperations(running: RunningServer): TestOperations {
  const services = () => running.emulator.services
  const accountOf = (accountId: string | undefined) => accountId ?? services().defaultAccount.id
  return {
    account() {
      const { id, email } = services().defaultAccount
      return { id, email }
    },
    createApiKey(input = {}) {
      return services().keys.create(accountOf(input.accountId), { name: input.name ?? 'test key', expires: input.expires ?? 'never' })
    },
    deleteApiKey(id, accountId) {
      return services().keys.delete(accountOf(accountId), id)
    },
    createPop(input = {}) {
      return services().pops.create(accountOf(input.accountId), { name: input.name ?? 'test pop' })
    },
    async createAccount(input = {}) {
      const { id, email, name } = await services().accounts.create({
        email: input.email ?? `${randomUUID()}@example.test`,
        password: input.password ?? 'test-password',
        name: input.name ?? 'Test',
      })
      return { id, email, name }
    },
    async createTemporaryKey(input) {
      const minted = await running.emulator.tokens.mintTemporaryKey(
        { apiKey: input.apiKey },
        {
          popId: input.popId,
          ...(input.ttlSeconds !== undefined && { ttlSeconds: input.ttlSeconds }),
          ...(input.allowedOrigins !== undefined && { allowedOrigins: input.allowedOrigins }),
          ...(input.scopes !== undefined && { scopes: input.scopes }),
        },
      )
      return { eyepopUrl: running.url, accessToken: minted.accessToken, validUntil: minted.expiresAt, popId: minted.popId }
    },
    async auditEvents(options = {}) {
      // The token route's events (first use, refusals) are written in batches: write them first.
      await services().auditRecorder.flush()
      return services().audit.list(accountOf(options.accountId), {
        ...(options.keyId !== undefined && { keyId: options.keyId }),
        ...(options.limit !== undefined && { limit: options.limit }),
      })
    },
  }
}
