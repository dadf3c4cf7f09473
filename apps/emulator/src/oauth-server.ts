import type { Keyring } from '@eyepop/auth-core'
import type { RequestListener } from 'node:http'
import type Provider from 'oidc-provider'
import type { TokenService } from './services/tokens.js'
import { createProvider, type ProviderLifetimes } from './provider/configuration.js'
import type { AccountRecord, EmulatorStore } from './store/types.js'

/** What the emulator needs from oidc-provider: its request handler, and itself for the sign-in pages. */
export interface OAuthServer {
  /** oidc-provider's request handler (discovery, token, authorization, sign-out, device flow). */
  readonly providerCallback: RequestListener
  /** The provider, whose interactions the sign-in pages (`provider/sign-in-pages.ts`) finish. */
  readonly provider: Provider
}

/**
 * Builds oidc-provider. `createApp` loads this module in the background
 * once the app is built, so the emulator answers its token and Pop routes before oidc-provider
 * (the largest part of its start-up) has loaded; requests that need it wait for it.
 */
export function createOAuthServer(deps: {
  issuer: string
  audience: string
  store: EmulatorStore
  keyring: Keyring
  tokens: TokenService
  cookieKeys: string[]
  allowBrowserApiKeys: boolean
  lifetimes: ProviderLifetimes
  findAccount: (id: string) => Promise<AccountRecord | undefined>
}): OAuthServer {
  const provider = createProvider({
    issuer: deps.issuer,
    audience: deps.audience,
    store: deps.store,
    keyring: deps.keyring,
    tokens: deps.tokens,
    cookieKeys: deps.cookieKeys,
    allowBrowserApiKeys: deps.allowBrowserApiKeys,
    lifetimes: deps.lifetimes,
    findAccount: deps.findAccount,
  })
  return { providerCallback: provider.callback(), provider }
}
