import { randomBytes, randomUUID } from 'node:crypto'
import { randomBase62 } from './base62.js'

/** A new API key id: `key_` and 16 base62 characters. Not secret. */
export function newKeyId(): string {
  return `key_${randomBase62(16)}`
}

/** A new account id (a UUID, as EyePop's `account_uuid`). */
export function newAccountId(): string {
  return randomUUID()
}

/** A new Pop id: 32 lowercase hex characters, the shape of EyePop's Pop ids. */
export function newPopId(): string {
  return randomBytes(16).toString('hex')
}

/** A new token id (`jti`). */
export function newTokenId(): string {
  return randomBase62(22)
}
