/**
 * `@eyepop/auth-core`: EyePop.ai access control for servers and resource servers.
 *
 * @module
 */
export {
  API_KEY_LENGTH,
  API_KEY_PREFIX,
  apiKeyHint,
  isApiKey,
  parseApiKey,
} from './api-key/format.js'
export type { ParsedApiKey } from './api-key/format.js'
export {
  API_KEY_NAME_MAX_LENGTH,
  createApiKey,
  generateApiKey,
  validateName,
} from './api-key/create.js'
export type { CreateApiKeyOptions, CreateApiKeyResult } from './api-key/create.js'
export { hashApiKey, hashesEqual } from './api-key/hash.js'
export { verifyApiKey } from './api-key/verify.js'
export type { VerifyApiKeyOptions } from './api-key/verify.js'

export {
  ACCESS_TOKEN_TYPE,
  DEFAULT_API_KEY_SCOPES,
  DEFAULT_TEMPORARY_KEY_SCOPES,
  EYEPOP_SDK_CLIENT_ID,
} from './token/claims.js'
export { assertOriginAllowed, assertPopAccess } from './token/access.js'
export type { AccessTokenClaims } from './token/claims.js'
export { generateSigningKey, loadKeyring } from './token/keyring.js'
export type {
  Keyring,
  LoadKeyringOptions,
  SigningAlgorithm,
  SigningKey,
  VerificationKey,
} from './token/keyring.js'
export { issueAccessToken } from './token/issue.js'
export type { IssueAccessTokenOptions, IssueAccessTokenResult } from './token/issue.js'
export { createAccessTokenVerifier } from './token/verify.js'
export type {
  AccessTokenVerifier,
  AccessTokenVerifierOptions,
  VerificationKeySource,
  VerifiedAccessToken,
} from './token/verify.js'
export { createRevocationList } from './token/revocation-list.js'
export type { RevocationList, RevocationListOptions } from './token/revocation-list.js'
export { createRemoteRevocationSource } from './token/remote-revocation-source.js'
export type {
  RemoteRevocationSourceOptions,
  RevocationFeedBody,
} from './token/remote-revocation-source.js'

export { createTokenClient } from './client/token-client.js'
export type { AccessToken, TokenClient, TokenClientOptions } from './client/token-client.js'
export { createClientSession } from './client/client-session.js'
export type {
  ClientSession,
  ClientSessionIssuer,
  CreateClientSessionOptions,
} from './client/client-session.js'

export { createAuthenticator, readBearerCredential, requireAccessToken } from './middleware/require-access-token.js'
export { httpAnswerOf } from './middleware/http-answer.js'
export type { HttpAnswer } from './middleware/http-answer.js'
export type {
  AccessPrincipal,
  Authenticate,
  AuthenticateOptions,
  AuthenticatedRequest,
  RequireAccessTokenOptions,
} from './middleware/require-access-token.js'

export { createMemoryStore } from './store/memory-store.js'
export type { MemoryStoreOptions } from './store/memory-store.js'
export type {
  ApiKeyRecord,
  ApiKeyRepository,
  KeyStore,
  ListApiKeysOptions,
  RevocationPage,
  RevocationRepository,
  RevokedKey,
  RevokedToken,
  SettingRepository,
  SigningKeyRecord,
  SigningKeyRepository,
} from './store/types.js'
export { REVOCATION_PAGE_LIMIT } from './store/types.js'

export type { Clock } from './lib/time.js'

export * as errors from './errors.js'
export { AuthCoreError, isAuthCoreError } from './errors.js'
export type { AnyAuthCoreError, AuthCoreErrorCode } from './errors.js'
