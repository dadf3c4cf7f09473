import { randomBytes } from 'node:crypto'
import { createAccessTokenVerifier, createRevocationList, loadKeyring, type AccessTokenVerifier, type Clock, type Keyring } from '@eyepop/auth-core'
import { join } from 'node:path'
import type { RequestListener } from 'node:http'
import express, { type Express } from 'express'
import type { Logger } from 'pino'
import type { EmulatorConfig } from './config/defaults.js'
import { isLoopbackHost, issuerOf, MAX_TOKEN_TTL_SECONDS, resolveConfig } from './config/schema.js'
import { errorHandler, errorResponder, notFoundHandler } from './http/error-handler.js'
import { TemporarilyUnavailable } from './http/errors.js'
import { sendJson, sendText } from './http/error-handler.js'
import { middlewareGuard, pageSecurity, refuseBrowsers } from './http/guards.js'
import { createRouteTable, type Route, type RouteTable } from './http/route-table.js'
import { signInStartLimit } from './http/rate-limit.js'
import { createLogger } from './logger.js'
import { PACKAGE_DIR } from './package-info.js'
import type { OAuthServer } from './oauth-server.js'
import { manageResource } from './provider/constants.js'
import { createDashboardSessions } from './http/dashboard-session.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { signInRoutes } from './provider/sign-in-pages.js'
import { manageApiRoutes } from './routes/manage-api.js'
import { openApiRoute } from './routes/openapi.js'
import { eyepopTokenRoutes, revocationFeedRoutes } from './routes/eyepop-auth.js'
import { computeSessionRoutes } from './routes/compute-sessions.js'
import { dataRoutes, eventsSocket, type EventsSocket } from './routes/data.js'
import { popConfigRoute, popRoutes } from './routes/pops.js'
import { clientSessionRoute, temporaryKeyRoutes } from './routes/temporary-keys.js'
import { createComputeSessions } from './services/compute-sessions.js'
import { createPipelineRegistry } from './services/pipelines.js'
import { loadPredictionCatalog } from './services/predictions.js'
import { DEFAULT_PASSWORD, loadAccountsFile } from './services/accounts.js'
import { verifyPassword } from './services/passwords.js'
import { openServices, type Services } from './services/services.js'
import { openStore } from './store/open.js'
import { createTokenService, type TokenService } from './services/tokens.js'
import { createUsageRecorder } from './services/usage-recorder.js'
import type { EmulatorStore } from './store/types.js'

/** Options of {@link createApp} that are not configuration. */
export interface CreateAppOptions {
  /** A store to use instead of opening `config.databaseUrl` or `config.dataDir`; the caller closes it. */
  store?: EmulatorStore
  /** A logger. Default: a pino logger at `config.logLevel`. */
  logger?: Logger
  /** Clock (ms). Default is `Date.now`. */
  now?: Clock
  /** How often (in milliseconds) expired store entries are deleted. Default is 60000. */
  purgeIntervalMs?: number
}

/** A built emulator: the Express app and what it is made of. */
export interface EmulatorApp {
  /** The Express app: every route. Not listening: for supertest, or a server of your own. */
  readonly app: Express
  /**
   * The request listener `startServer` uses: the route table's routes straight on `node:http`,
   * everything else through {@link app}. Both answer every route the same way.
   */
  readonly handler: RequestListener
  /** Every route of the emulator's own surfaces and pages, each declared once (oidc-provider's aside). */
  readonly routes: RouteTable
  readonly config: EmulatorConfig
  /** The issuer and `eyepopUrl`. */
  readonly issuer: string
  readonly services: Services
  readonly keyring: Keyring
  readonly tokens: TokenService
  readonly verify: AccessTokenVerifier
  /** Handles WebSocket upgrades (the data API's `/data/events`): attach to the server's `upgrade`. */
  readonly handleUpgrade: EventsSocket['handleUpgrade']
  /**
   * Settles once oidc-provider has loaded (in the background: the token and Pop routes answer
   * before); rejects if it failed to.
   */
  readonly ready: Promise<void>
  /** Stops background work, flushes last-use times and closes the store it opened. */
  close(): Promise<void>
}

/** Whether an account can still sign in with the built-in development password. */
async function hasBuiltInPassword(account: { passwordHash: string | null }): Promise<boolean> {
  return account.passwordHash !== null && verifyPassword(DEFAULT_PASSWORD, account.passwordHash)
}

/** What oidc-provider answers: discovery, the token endpoint, sign-in, sign-out and device codes. */
function isProviderRequest(method: string, path: string): boolean {
  if (method === 'GET' && path === '/.well-known/openid-configuration') return true
  const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`)
  return (method === 'GET' || method === 'POST') && (under('/auth') || under('/session/end') || under('/device'))
}


/**
 * Builds the emulator's Express app without listening.
 *
 * @example
 * ```ts
 * const emulator = await createApp({ dataDir: null, issuer: 'http://127.0.0.1:8700' })
 * http.createServer(emulator.handler).listen(8700, '127.0.0.1')
 * ```
 */
export async function createApp(
  input: Partial<EmulatorConfig> = {},
  options: CreateAppOptions = {},
): Promise<EmulatorApp> {
  const config = resolveConfig(input)
  const issuer = issuerOf(config)
  const predictions = loadPredictionCatalog(config.predictionsFile)
  const now = options.now ?? Date.now
  const logger = options.logger ?? createLogger(config.logLevel)
  const store = options.store ?? (await openStore(config, { serving: true, now }))
  const ownsStore = options.store === undefined

  const services = await openServices(store, now, {
    maxKeysPerAccount: config.maxKeysPerAccount,
    defaultPassword: config.defaultPassword,
    auditFlushMs: config.auditFlushMs,
    onAuditError: (err) => logger.error({ err }, 'writing the audit log failed'),
  })
  if (!isLoopbackHost(config.host) && !config.allowDefaultPassword && (await hasBuiltInPassword(services.defaultAccount))) {
    if (ownsStore) await store.close()
    throw new TypeError(
      `the development account ${services.defaultAccount.email} still has the built-in password and the emulator would listen on ${config.host}, ` +
        'beyond loopback, where anyone who reaches it could sign in and manage its keys: start on a new data dir with a password of your own ' +
        '(EYEPOP_EMULATOR_DEFAULT_PASSWORD), or pass --allow-default-password (EYEPOP_EMULATOR_ALLOW_DEFAULT_PASSWORD=true) if only you can reach it',
    )
  }
  if (config.accountsFile !== undefined) {
    try {
      const { created } = await loadAccountsFile(config.accountsFile, services.accounts)
      if (created.length > 0) logger.info({ accounts: created.map((a) => a.email) }, 'accounts created from the accounts file')
    } catch (err) {
      if (ownsStore) await store.close()
      throw err
    }
  }
  const keyring = await loadKeyring({ store, now, retiredKeyTtlSeconds: Math.max(86_400, config.tokenTtlSeconds) })
  const revocations = await createRevocationList({
    source: (cursor) => store.revocations.since(cursor),
    pollIntervalMs: config.revocationPollMs,
    // Tokens issued before a restart may carry a longer lifetime than today's setting: keep every
    // entry for the longest lifetime any token can have.
    retentionSeconds: MAX_TOKEN_TTL_SECONDS + 60,
    onError: (err) => logger.error({ err }, 'revocation list poll failed'),
    now,
  })
  const usage = createUsageRecorder(store, config.lastUsedFlushMs, (err) =>
    logger.error({ err }, 'writing key last-use times failed'),
  )
  const verifyUser = createAccessTokenVerifier({
    issuer,
    audience: manageResource(issuer),
    keys: keyring,
    revocations,
    subject: 'user',
    clockToleranceSeconds: 0,
    now,
  })
  const verify = createAccessTokenVerifier({
    issuer,
    audience: config.audience,
    keys: keyring,
    revocations,
    // The issuer and this verifier share one clock: an expired token is refused at once.
    clockToleranceSeconds: 0,
    now,
  })
  const tokens = createTokenService({
    store,
    audit: services.auditRecorder,
    pepper: services.pepper,
    keyring,
    verify,
    issuer,
    audience: config.audience,
    ttlSeconds: config.tokenTtlSeconds,
    temporaryKeyTtlSeconds: config.temporaryKeyTtlSeconds,
    temporaryKeyMaxTtlSeconds: config.temporaryKeyMaxTtlSeconds,
    usage,
    findPop: (id) => services.pops.find(id),
    now,
  })
  const cookieKey = await store.settings.setIfAbsent('cookie_secret', randomBytes(32).toString('base64url'))
  // oidc-provider loads in the background (see oauth-server.ts): the token and Pop routes answer
  // before it has; the requests that need it wait for it.
  // oidc-provider signs users' tokens with the keys it was built with: it is built again when the
  // keyring signs with another key (a rotation here, or on another instance sharing the store,
  // followed within a minute), so no instance goes on signing with a retired key.
  let built: { kid: string; server: OAuthServer } | undefined
  const oauthModule = import('./oauth-server.js')
  const buildOAuthServer = async (): Promise<OAuthServer> => {
    const { createOAuthServer } = await oauthModule
    const { kid } = (await tokens.signingKeyring()).signingKey
    if (built?.kid !== kid) {
      built = {
        kid,
        server: createOAuthServer({
          issuer,
          audience: config.audience,
          store,
          keyring,
          tokens,
          cookieKeys: [cookieKey],
          allowBrowserApiKeys: config.allowBrowserApiKeys,
          lifetimes: config,
          findAccount: (id) => store.accounts.get(id),
        }),
      }
    }
    return built.server
  }
  const oauthReady = buildOAuthServer()
  const ready = oauthReady.then(
    () => undefined,
    (err: unknown) => {
      logger.error({ err }, 'loading the OAuth provider failed')
      throw err
    },
  )
  // Observed by whoever awaits `ready`; requests that need the provider get a 503 instead.
  ready.catch(() => undefined)
  /** The OAuth server once loaded; a 503 with `Retry-After` for every request if it failed to load. */
  const oauthServer = (): Promise<OAuthServer> =>
    oauthReady.then(buildOAuthServer).catch((err: unknown) => {
      throw new TemporarilyUnavailable('the oauth provider is not available (it failed to load; see the emulator log)', 5, { cause: err })
    })
  /** Runs `use` with the OAuth server once loaded, or passes the 503 to `next`. */
  const withOAuth = (use: (server: OAuthServer) => void, next: (err?: unknown) => void): void => {
    oauthServer().then(use, next)
  }
  // One per-address limit of sign-in starts: the dashboard's login (a guard of its route) and
  // oidc-provider's authorization and device requests (on Express) count together.
  const signInLimit = signInStartLimit(config.signInRateLimit)
  const sessions = createDashboardSessions(store.oidc, { secure: issuer.startsWith('https:'), now, ttlSeconds: config.signInSessionSeconds })

  const { maxBodyBytes, allowBrowserApiKeys } = config
  const respond = errorResponder(logger)
  const idleTimeoutMs = config.sessionIdleTimeoutSeconds * 1000
  const pipelines = createPipelineRegistry({ now, idleTimeoutMs })
  const computeSessions = createComputeSessions({
    pipelines,
    maxPerAccount: config.maxSessionsPerAccount,
    idleTimeoutMs,
    idleTimeoutSeconds: config.sessionIdleTimeoutSeconds,
  })
  // Idle pipelines (and the sessions they end) are also dropped when a request looks them up;
  // this sweep bounds what no request comes back for.
  const sweeper = setInterval(() => pipelines.sweep(), Math.min(60_000, idleTimeoutMs))
  sweeper.unref()
  // What expires in the store (pending sign-ins, device codes, provider sessions, revoked tokens
  // past their expiry) is deleted by this purge, not only when the store closes.
  const purger = setInterval(() => {
    store.purgeExpired().catch((err: unknown) => logger.warn({ err }, 'purging expired store entries failed'))
  }, options.purgeIntervalMs ?? 60_000)
  purger.unref()

  // The OAuth token endpoint is oidc-provider's; the route table hands it over without Express's
  // routing. It exchanges API keys: a browser gets the same clear refusal as on the EyePop routes,
  // before oidc-provider's generic CORS error.
  const tokenEndpoint: Route = {
    method: 'POST',
    path: '/token',
    guards: [refuseBrowsers(allowBrowserApiKeys)],
    async handler(req, res) {
      ;(await oauthServer()).providerCallback(req, res)
    },
  }
  // RFC 8414 metadata: the same document as OpenID discovery, from oidc-provider.
  const authorizationServerMetadata: Route = {
    method: 'GET',
    path: '/.well-known/oauth-authorization-server',
    async handler(req, res) {
      const server = await oauthServer()
      req.url = '/.well-known/openid-configuration'
      server.providerCallback(req, res)
    },
  }
  // Every route of the emulator's own surfaces, declared once (see http/route-table.ts): the
  // listener answers them before Express, and the Express app mounts the same dispatch.
  const routes = createRouteTable(
    [
      // The hot routes first: every SDK calls them.
      ...eyepopTokenRoutes({ tokens, maxBodyBytes, allowBrowserApiKeys }),
      clientSessionRoute({ tokens, issuer, maxBodyBytes, allowBrowserApiKeys }),
      popConfigRoute({ verify, pops: services.pops, pipelines }),
      tokenEndpoint,
      ...popRoutes({ verify, pipelines, maxBodyBytes, maxUploadBytes: config.maxUploadBytes, predictions }),
      ...computeSessionRoutes({
        tokens,
        verify,
        sessions: computeSessions,
        findPop: (id) => services.pops.find(id),
        issuer,
        maxBodyBytes,
        allowBrowserApiKeys,
        now,
      }),
      ...dataRoutes({ verify }),
      ...revocationFeedRoutes({ revocations: services.revocations }),
      ...temporaryKeyRoutes({ tokens, verify, verifyUser, revocations: services.revocations, issuer, maxBodyBytes, allowBrowserApiKeys }),
      {
        method: 'GET',
        path: '/healthz',
        handler(_req, res) {
          sendJson(res, 200, { status: 'ok' })
        },
      },
      // The keys that verify every token, read from the keyring on each request so a rotation shows.
      {
        method: 'GET',
        path: '/jwks',
        handler(_req, res) {
          res.setHeader('Cache-Control', 'public, max-age=60')
          sendText(res, 200, 'application/jwk-set+json', JSON.stringify(keyring.jwks()))
        },
      },
      openApiRoute(issuer),
      authorizationServerMetadata,
      ...manageApiRoutes({ issuer, sessions, verifyUser, verify, services, maxBodyBytes }),
      ...dashboardRoutes({
        issuer,
        sessions,
        verifyUser,
        dashboardDir: join(PACKAGE_DIR, 'dashboard'),
        signInLimit: middlewareGuard(signInLimit),
      }),
      ...signInRoutes({
        provider: async () => (await oauthServer()).provider,
        accounts: services.accounts,
        staticDir: join(PACKAGE_DIR, 'static'),
      }),
    ],
    { respond, corsOrigins: config.corsOrigins },
  )

  const app = express()
  // One matching rule for every route, the route table's and Express's: the exact path,
  // case-sensitive, without a trailing slash. Set before the first route (Express builds its router
  // from these settings then).
  app.set('case sensitive routing', true)
  app.set('strict routing', true)
  app.disable('x-powered-by')
  app.set('json spaces', 0)
  // No ETag on API answers (tokens are no-store anyway): it would hash every body.
  app.set('etag', false)

  // The route table's routes, for what reaches the Express app itself (supertest, a server of your
  // own); the listener answers them before Express.
  app.use(routes.middleware())
  // Other preflights get no CORS headers, so browsers refuse them (Express would answer 200 "POST");
  // one to a CORS route's path from an origin not allowed goes on to the 404.
  app.options('/{*path}', function refusePreflight(req, res, next) {
    if (routes.isCorsPath(req.path)) next()
    else res.status(204).end()
  })
  const events = eventsSocket({
    verify,
    recheckMs: 1000,
    maxSockets: config.maxEventSockets,
    maxSocketsPerAccount: config.maxEventSocketsPerAccount,
  })
  // What is left is oidc-provider's (its authorization, sign-out and device pages) and the 404s:
  // under the pages' paths they carry the pages' security headers, and its sign-in starts count
  // against the same per-address limit as the dashboard's login.
  app.use(['/dashboard', '/interaction', '/api', '/auth', '/session', '/device'], pageSecurity)
  app.use(signInLimit)
  app.use(function oidcProvider(req, res, next) {
    if (isProviderRequest(req.method, req.path)) withOAuth((server) => server.providerCallback(req, res), next)
    else next()
  })
  app.use(notFoundHandler)
  app.use(errorHandler(logger))

  let closed = false
  return {
    app,
    handler: routes.listener(app),
    routes,
    ready,
    config,
    issuer,
    services,
    keyring,
    tokens,
    verify,
    handleUpgrade: events.handleUpgrade,
    async close() {
      if (closed) return
      closed = true
      // Not while the provider is still being built on this store.
      await ready.catch(() => undefined)
      clearInterval(sweeper)
      clearInterval(purger)
      events.close()
      revocations.stop()
      // Every step runs whatever the one before did (the last flushes fail while the database is
      // gone, and the store must still be closed); the first failure is reported after.
      const failures: unknown[] = []
      const step = (run: () => Promise<void>) => run().catch((err: unknown) => void failures.push(err))
      await step(() => usage.close())
      await step(() => services.auditRecorder.close())
      if (ownsStore) await step(() => store.close())
      if (failures.length > 0) throw failures[0]
    },
  }
}
