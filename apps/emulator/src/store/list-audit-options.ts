import type { ListAuditEventsOptions } from './types.js'

/** The page size of `AuditRepository.list` when none is asked for. */
export const AUDIT_LIST_DEFAULT_LIMIT = 100

/** The largest page `AuditRepository.list` returns. */
export const AUDIT_LIST_MAX_LIMIT = 1000

/** {@link ListAuditEventsOptions} with defaults applied, as every store reads them. */
export interface ResolvedListAuditOptions {
  readonly limit: number
  /** Exclusive upper bound of event ids; `Number.MAX_SAFE_INTEGER` when not given. */
  readonly before: number
  readonly keyId: string | undefined
}

/**
 * Validates and completes the options of `AuditRepository.list`, so both stores refuse the same
 * misuse the same way.
 *
 * @throws {TypeError} when an option has the wrong type or range
 */
export function resolveListAuditOptions(options: ListAuditEventsOptions = {}): ResolvedListAuditOptions {
  const { limit = AUDIT_LIST_DEFAULT_LIMIT, before, keyId } = options
  if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_LIST_MAX_LIMIT) {
    throw new TypeError(`"limit" option must be an integer from 1 to ${AUDIT_LIST_MAX_LIMIT}`)
  }
  if (before !== undefined && !Number.isSafeInteger(before)) {
    throw new TypeError('"before" option must be an integer event id')
  }
  if (keyId !== undefined && typeof keyId !== 'string') {
    throw new TypeError('"keyId" option must be a string')
  }
  return { limit, before: before ?? Number.MAX_SAFE_INTEGER, keyId }
}
