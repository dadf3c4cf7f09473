import { EYEPOP_SDK_CLIENT_ID, DEFAULT_API_KEY_SCOPES, type Keyring } from '@eyepop/auth-core'
import Provider, { errors, type Configuration } from 'oidc-provider'
import type { TokenService } from '../services/tokens.js'
import { createAdapterClass } from './adapter.js'
import { devicePages } from './device-pages.js'
import { TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_PARAMETERS, tokenExchangeHandler } from './token-exchange.js'

// The names other modules use without loading oidc-provider.
export * from './constants.js'
import { errorBody } from '../http/to-error-body.js'
import type { EmulatorConfig } from '../config/defaults.js'
import { CLI_CLIENT_ID, DASHBOARD_CLIENT_ID, DEVICE_CODE_GRANT, MANAGE_SCOPE, manageResource } from './constants.js'
import type { EmulatorStore } from '../store/types.js'

/** What the provider is built from. */
export interface CreateProviderOptions {
  issuer: string
  audience: string
  store: EmulatorStore
  keyring: Keyring
  tokens: TokenService
  /** Finds an account for oidc-provider (sign-in and token claims). */
  findAccount: (id: string) => Promise<{ id: string; email: string; name: string } | undefined>
  /** Secrets that sign oidc-provider's cookies. Secret. */
  cookieKeys: string[]
  /** Whether API keys are accepted from browsers. */
  allowBrowserApiKeys: boolean
  /** The lifetimes the options set (see `config/options.ts`). */
  lifetimes: ProviderLifetimes
}

/** The lifetimes of oidc-provider's artifacts that the options set. */
export type ProviderLifetimes = Pick<EmulatorConfig, 'userTokenTtlSeconds' | 'signInSessionSeconds' | 'deviceCodeTtlSeconds'>

/** An error page or JSON body for oidc-provider's browser-facing errors. */
/** The part of a Koa context an error page is written through. */
interface RenderContext {
  accepts(...types: string[]): string | false
  path: string
  type: string
  body: unknown
}

/**
 * Whether a path is a page a person's browser opens (sign-in and its resume, the device code page
 * and its resume, sign-out): only these may answer an error with HTML. `/device/auth` is the
 * device authorization endpoint, an API.
 */
function isBrowserPage(path: string): boolean {
  return /^\/(auth|device)(\/[^/]+)?\/?$/i.test(path) && !/^\/device\/auth\/?$/i.test(path)
    || /^\/session\/end(\/(confirm|success))?\/?$/i.test(path)
}

function renderError(ctx: RenderContext, out: { error: string; error_description?: string }): void {
  // The token, device-authorization and other API endpoints answer JSON whatever `Accept` says.
  if (!isBrowserPage(ctx.path) || ctx.accepts('json', 'html') === 'json') {
    ctx.type = 'json'
    ctx.body = errorBody(out.error, out.error_description ?? out.error)
    return
  }
  const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  ctx.type = 'html'
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><main><h1>Sign-in error</h1><p role="alert">${escape(out.error_description ?? out.error)}</p><p><a href="/dashboard">Back to the dashboard</a></p></main></body></html>`
}

/**
 * The standard OAuth 2 / OpenID Connect surface, through oidc-provider:
 * - discovery, and the token endpoint with RFC 8693 token exchange of an API key for the public
 *   client `eyepop-sdk`;
 * - sign-in: the authorization code flow with PKCE for the dashboard (`eyepop-dashboard`) and the
 *   device authorization grant for the command line (`eyepop-cli`), through the emulator's own
 *   login page (interactions at `/interaction/{uid}`); their access tokens are JWTs for the
 *   key-management API (`aud` `{issuer}/api`, scope `manage:keys`), signed with the same keys.
 *
 * The clients are the emulator's own, so the consent prompt is completed without a screen (see
 * `routes/interaction.ts`).
 */
export function createProvider(options: CreateProviderOptions): Provider {
  const { keyring, store, issuer } = options
  const signingAlg = keyring.signingKey.alg
  const resource = manageResource(issuer)
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
      {
        client_id: DASHBOARD_CLIENT_ID,
        client_name: 'EyePop dashboard',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [`${issuer}/dashboard/callback`],
        post_logout_redirect_uris: [`${issuer}/dashboard`],
        id_token_signed_response_alg: signingAlg,
      },
      {
        client_id: CLI_CLIENT_ID,
        client_name: 'eyepop-emulator CLI',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_CODE_GRANT],
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
    cookies: {
      keys: options.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure: issuer.startsWith('https:') },
      short: { httpOnly: true, sameSite: 'lax', secure: issuer.startsWith('https:') },
    },
    // Advertise only what works: public clients, the code flow (for sign-in) and token exchange.
    clientAuthMethods: ['none'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    // A device code is not bound to the sign-in session (oidc-provider's default binds it): the
    // approving request saves the code, then the session, and a poll of `login` in between, on this
    // instance or another, found no code and failed with invalid_grant. What it grants is an hour's
    // JWT, which the end of a session does not revoke anyway.
    expiresWithSession: (_ctx, token) => token.kind !== 'DeviceCode' && !token.scopes.has('offline_access'),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      deviceFlow: { enabled: true, ...devicePages },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, indicator) {
          if (indicator !== resource) throw new errors.InvalidTarget(`resource must be ${resource}`)
          return {
            scope: MANAGE_SCOPE,
            audience: resource,
            accessTokenTTL: options.lifetimes.userTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: signingAlg } },
          }
        },
      },
      // Advertised in discovery; the emulator's own routes answer them, since oidc-provider cannot
      // introspect or revoke the JWT access tokens it did not issue.
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    renderError: async (ctx, out) => renderError(ctx, out),
    // The token endpoint takes API keys, which belong on servers: no CORS unless configured.
    clientBasedCORS: () => options.allowBrowserApiKeys,
    scopes: ['openid', 'email', MANAGE_SCOPE, ...DEFAULT_API_KEY_SCOPES],
    claims: { openid: ['sub'], email: ['email'] },
    ttl: {
      AccessToken: options.lifetimes.userTokenTtlSeconds,
      // Protocol steps, not options: a code is redeemed at once, a sign-in page is filled in minutes.
      AuthorizationCode: 60,
      DeviceCode: options.lifetimes.deviceCodeTtlSeconds,
      Grant: 14 * 86_400,
      IdToken: options.lifetimes.userTokenTtlSeconds,
      Interaction: 900,
      Session: options.lifetimes.signInSessionSeconds,
    },
    async findAccount(_ctx, id) {
      const account = await options.findAccount(id)
      if (!account) return undefined
      return {
        accountId: account.id,
        async claims() {
          return { sub: account.id, email: account.email, name: account.name }
        },
      }
    },
  }
  const provider = new Provider(issuer, configuration)
  provider.use(async function answerUnsavedSessions(ctx, next) {
    try {
      await next()
    } catch (err) {
      // oidc-provider 9: when a request that created a session fails before the session is saved
      // (the device form posted without its form details, a GET of the device endpoint), its
      // session guard then throws this TypeError (no error code) in place of the request's own
      // error, and Koa would answer 500. It is always such a malformed request: answer 400.
      if (!(err instanceof TypeError) || !err.message.startsWith('persist can only be called on previously persisted')) throw err
      ctx.status = 400
      renderError(ctx, { error: 'invalid_request', error_description: 'this request must come from the sign-in pages: start again at /device or the dashboard' })
    }
  })
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
