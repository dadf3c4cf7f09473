/** The claims of an EyePop access token (an RFC 9068 JWT access token). */
export interface AccessTokenClaims {
  /** The issuer: the base URL of the emulator or of EyePop's auth service. */
  readonly iss: string
  /** The subject: the account id. */
  readonly sub: string
  /** The audience: the resource server(s) the token is for. */
  readonly aud: string | string[]
  /** Issued at (s). */
  readonly iat: number
  /** Expires at (s). */
  readonly exp: number
  /** The token id. */
  readonly jti: string
  /** Space-separated scopes. */
  readonly scope: string
  /** The OAuth client the token was issued to. */
  readonly client_id: string
  /** The id of the API key the token derives from (absent on a signed-in user's token). */
  readonly key_id: string
  /** Marks a temporary key: short-lived, bound to one Pop, handed to a browser or mobile client. */
  readonly temporary?: true
  /** The only Pop a temporary key reaches. Absent on server tokens (any Pop of the account). */
  readonly pop_id?: string
  /** The browser origins a temporary key may be used from. Absent means any. */
  readonly allowed_origins?: string[]
}

/** The scopes a token exchanged from an API key carries: EyePop's inference and data APIs. */
export const DEFAULT_API_KEY_SCOPES = ['access:inference-api', 'access:datasets'] as const

/** The scopes a temporary key carries unless fewer are asked for: inference only. */
export const DEFAULT_TEMPORARY_KEY_SCOPES = ['access:inference-api'] as const

/** The OAuth client id of the EyePop SDKs. */
export const EYEPOP_SDK_CLIENT_ID = 'eyepop-sdk'

/** The JWT `typ` of access tokens (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt'
