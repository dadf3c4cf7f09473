import { sign } from 'node:crypto'
import { ACCESS_TOKEN_TYPE } from './claims.js'
import type { SigningKey } from './keyring.js'

/** The encoded protected header of each signing key: it never changes for a key. */
const encodedHeaders = new WeakMap<SigningKey, string>()

function encodedHeader(key: SigningKey): string {
  let header = encodedHeaders.get(key)
  if (header === undefined) {
    header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })).toString('base64url')
    encodedHeaders.set(key, header)
  }
  return header
}

/**
 * Signs a JWT access token (RFC 7515 compact serialization, RFC 9068 `typ: at+jwt`) with Node's
 * native, synchronous signing: Ed25519 (`EdDSA`, RFC 8037) or P-256 with SHA-256 (`ES256`, its
 * signature as the raw `r || s` JWS requires). Any JOSE library verifies the result; auth-core's
 * verifier checks it with jose.
 */
export function signAccessToken(payload: Record<string, unknown>, key: SigningKey): string {
  const signingInput = `${encodedHeader(key)}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  const data = Buffer.from(signingInput)
  const signature =
    key.alg === 'EdDSA'
      ? sign(null, data, key.privateKey)
      : sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${signingInput}.${signature.toString('base64url')}`
}
