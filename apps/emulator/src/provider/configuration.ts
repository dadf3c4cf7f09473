import { EYEPOP_SDK_CLIENT_ID, DEFAULT_API_KEY_SCOPES, type Keyring, type Store } from '@eyepop/auth-core'
import Provider, { type Configuration } from 'oidc-provider'
import type { TokenService } from '../services/tokens.js'
import { createAdapterClass } from './adapter.js'
import { TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_PARAMETERS, tokenExchangeHandler } from './token-exchange.js'

/** What the provider is built from. */
export interface CreateProviderOptions {
  issuer: string
  audience: string
  store: Store
  keyring: Keyring
  tokens: TokenService
  /** Secrets that sign oidc-provider's cookies. Secret. */
  cookieKeys: string[]
  /** Whether API keys are accepted from browsers. */
  allowBrowserApiKeys: boolean
}

/**
 * The standard OAuth 2 / OpenID Connect surface, through oidc-provider: discovery, JWKS (the same
 * keys that sign every access token), and the token endpoint with RFC 8693 token exchange of an
 * API key, for the built-in public client `eyepop-sdk`.
 */
export function createProvider(options: CreateProviderOptions): Provider {
  const { keyring, store } = options
  const signingAlg = keyring.signingKey.alg
  const configuration: Configuration = {
    adapter: createAdapterClass(store),
    clients: [
      {
        client_id: EYEPOP_SDK_CLIENT_ID,
        client_name: 'EyePop SDK',
        token_endpoint_auth_method: 'none',
        grant_types: [TOKEN_EXCHANGE_GRANT],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: signingAlg,
      },
    ],
    clientDefaults: {
      grant_types: [TOKEN_EXCHANGE_GRANT],
      id_token_signed_response_alg: signingAlg,
      response_types: [],
      token_endpoint_auth_method: 'none',
    },
    jwks: { keys: keyring.privateJwks() as NonNullable<Configuration['jwks']>['keys'] },
    cookies: { keys: options.cookieKeys },
    // Advertise only what works: public clients, the code flow (for sign-in) and token exchange.
    clientAuthMethods: ['none'],
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      // Advertised in discovery; the emulator's own routes answer them, since oidc-provider cannot
      // introspect or revoke the JWT access tokens it did not issue.
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    // The token endpoint takes API keys, which belong on servers: no CORS unless configured.
    clientBasedCORS: () => options.allowBrowserApiKeys,
    scopes: ['openid', ...DEFAULT_API_KEY_SCOPES],
    claims: { openid: ['sub'], email: ['email'] },
    async findAccount(_ctx, id) {
      const account = await store.accounts.get(id)
      if (!account) return undefined
      return {
        accountId: account.id,
        async claims() {
          return { sub: account.id, email: account.email, name: account.name }
        },
      }
    },
  }
  const provider = new Provider(options.issuer, configuration)
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    tokenExchangeHandler({
      tokens: options.tokens,
      audience: options.audience,
      allowBrowserApiKeys: options.allowBrowserApiKeys,
    }),
    TOKEN_EXCHANGE_PARAMETERS,
  )
  return provider
}
