import { randomBytes } from 'node:crypto'
import type { Clock } from '@eyepop/auth-core'
import { defaults } from '../config/defaults.js'
import { createAccountService, DEFAULT_PASSWORD, ensureDefaultAccount, type AccountService } from './accounts.js'
import { createAuditRecorder, type AuditRecorder } from './audit.js'
import { createKeyService, type KeyService } from './keys.js'
import { createPopService, type PopService } from './pops.js'
import { createRevocationService, type RevocationService } from './revocations.js'
import type { AccountRecord, AuditEvent, EmulatorStore, ListAuditEventsOptions } from '../store/types.js'

/** The audit log as the API and the dashboard read it. */
export interface AuditService {
  /**
   * The events of an account, newest first: `limit` (default 100, at most 1000), `before` (the id
   * of the last event of the previous page) and `keyId` filter them.
   *
   * @throws {TypeError} for options out of range (the HTTP layer validates its input first)
   */
  list(accountId: string, options?: ListAuditEventsOptions): Promise<AuditEvent[]>
}

/** The services over one store, shared by the HTTP app and the CLI. */
export interface Services {
  readonly store: EmulatorStore
  /** The server secret API key hashes are keyed with. Secret. */
  readonly pepper: Uint8Array
  /** The default development account. Its record holds the password hash: never send it. */
  readonly defaultAccount: AccountRecord
  readonly accounts: AccountService
  readonly keys: KeyService
  readonly pops: PopService
  readonly revocations: RevocationService
  readonly audit: AuditService
  /**
   * Batches the token route's audit events (`key.first_used`, `auth.failed`): give it to
   * `createTokenService` and close it before the store. Its timer starts with the first event.
   */
  readonly auditRecorder: AuditRecorder
  readonly now: Clock
}

/** Options of {@link openServices}. */
export interface OpenServicesOptions {
  /** The most live keys an account may have. Default is 20. */
  maxKeysPerAccount?: number
  /**
   * The password the default development account gets when it has none. Default is
   * `eyepop-dev`. Development only.
   */
  defaultPassword?: string
  /** How often (in milliseconds) the audit recorder writes its batch. Default is 1000. */
  auditFlushMs?: number
  /** Called when an audit event cannot be written. Default: a process warning. */
  onAuditError?: (err: unknown) => void
}

function warnAuditError(err: unknown): void {
  process.emitWarning(`audit log write failed: ${(err as Error)?.message ?? String(err)}`)
}

/**
 * Opens the services of a store: settles the key-hash pepper and the default account (both
 * created on first use, and safe when the emulator and the CLI start on a new data dir at once).
 *
 * @example
 * ```ts
 * const services = await openServices(store, Date.now, { maxKeysPerAccount: 50 })
 * ```
 */
export async function openServices(
  store: EmulatorStore,
  now: Clock = Date.now,
  options: OpenServicesOptions = {},
): Promise<Services> {
  const pepper = Buffer.from(
    await store.settings.setIfAbsent('api_key_pepper', randomBytes(32).toString('base64url')),
    'base64url',
  )
  const defaultAccount = await ensureDefaultAccount(store, now(), options.defaultPassword ?? DEFAULT_PASSWORD)
  const onAuditError = options.onAuditError ?? warnAuditError
  return {
    store,
    pepper,
    defaultAccount,
    accounts: createAccountService({ store, now }),
    keys: createKeyService({
      store,
      pepper,
      now,
      maxKeysPerAccount: options.maxKeysPerAccount ?? defaults.maxKeysPerAccount,
      onAuditError,
    }),
    pops: createPopService({ store, now }),
    revocations: createRevocationService({ store, now }),
    audit: {
      list: (accountId, listOptions) => store.audit.list(accountId, listOptions),
    },
    auditRecorder: createAuditRecorder(store, options.auditFlushMs ?? defaults.auditFlushMs, onAuditError),
    now,
  }
}
