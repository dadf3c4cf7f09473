/**
 * The example's web server: the server-to-client hand-off of EyePop access.
 *
 * The server holds the EyePop API key and never sends it anywhere but to EyePop. The page asks
 * `GET /api/eyepop-session` for a session: a temporary key, minted with auth-core's token client,
 * bound to one Pop and to the page's own origin, which the EyePop SDK in the browser uses to call
 * that Pop directly.
 *
 * @module
 */
import { createTokenClient, isAuthCoreError } from '@eyepop/auth-core'
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
} from 'express'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Options of {@link createExampleServer}. */
export interface CreateExampleServerOptions {
  /**
   * Base URL (absolute, http or https) of the EyePop API or of the emulator, e.g.
   * `http://127.0.0.1:8700`. The page's SDK calls the Pop there directly. Required.
   */
  eyepopUrl: string
  /** The EyePop API key (`eyp_…`). Secret: it stays on this server. Required. */
  apiKey: string
  /** The only Pop the page may use. Required. */
  popId: string
  /** Lifetime (in seconds) of each temporary key handed to the page. Default: EyePop's (15 minutes on the emulator). */
  ttlSeconds?: number
  /**
   * Called with the error when a session could not be minted, for the server's own log. The page
   * only gets a generic 502. Default: nothing is logged.
   */
  onSessionError?: (err: unknown) => void
}

/** Where the page and its script live: `public/`, next to `src/` and `dist/`. */
const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url))

/** The EyePop SDK's browser bundle (UMD), served to the page as is. */
function resolveSdkBundle(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('@eyepop.ai/eyepop/package.json')), 'dist', 'eyepop.min.js')
}

/**
 * The page's own origin, as its browser sees it: the scheme and the `Host` header. The temporary
 * key is bound to it, so another site cannot use a key it got hold of.
 */
function requestOrigin(req: Request): string | undefined {
  const host = req.get('host')
  return host ? `${req.protocol}://${host}` : undefined
}

/**
 * Builds the example's Express app (it does not listen). The token client is created here, so a
 * malformed API key fails at startup rather than on the first request.
 *
 * Routes:
 * - `GET /` and static files: the page (`public/`)
 * - `GET /vendor/eyepop.min.js`: the EyePop SDK's browser bundle
 * - `GET /api/eyepop-session`: a fresh session (`{ eyepopUrl, accessToken, validUntil, popId }`),
 *   `Cache-Control: no-store`; 502 `{ error, error_description }` when EyePop refused or failed
 *
 * @param options where EyePop is, the API key, the Pop and the session lifetime
 * @throws {TypeError} for bad options
 * @throws {errors.ApiKeyMalformed} when the API key is not well-formed
 * @example
 * ```ts
 * const app = createExampleServer({ eyepopUrl: 'http://127.0.0.1:8700', apiKey, popId })
 * app.listen(3000, '127.0.0.1')
 * ```
 */
export function createExampleServer(options: CreateExampleServerOptions): Express {
  const { eyepopUrl, apiKey, popId, ttlSeconds, onSessionError } = options
  if (typeof popId !== 'string' || popId === '') {
    throw new TypeError('"popId" option must be a non-empty string')
  }
  if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)) {
    throw new TypeError('"ttlSeconds" option must be a positive integer')
  }
  const tokens = createTokenClient({ eyepopUrl, apiKey })
  const eyepopOrigin = new URL(tokens.eyepopUrl).origin
  const sdkBundle = resolveSdkBundle()

  /*
   * - a Content-Security-Policy: scripts and styles from this server only, and network calls to
   *   this server and to EyePop only
   * - no MIME sniffing, no referrer
   */
  const securityHeaders: RequestHandler = function securityHeaders(_req, res, next) {
    res.set({
      'Content-Security-Policy': [
        "default-src 'self'",
        `connect-src 'self' ${eyepopOrigin}`,
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
      ].join('; '),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    })
    next()
  }

  const sendSdkBundle: RequestHandler = function sendSdkBundle(_req, res, next) {
    res.type('text/javascript').sendFile(sdkBundle, (err) => err && next(err))
  }

  const sendSession: RequestHandler = async function sendSession(req, res) {
    const origin = requestOrigin(req)
    const session = await tokens.createClientSession({
      popId,
      ...(ttlSeconds !== undefined && { ttlSeconds }),
      ...(origin !== undefined && { origin }),
    })
    // A session is a secret for one page load: no cache may keep it.
    res.set('Cache-Control', 'no-store').json(session)
  }

  /** Any failure to mint a session: logged here, a generic 502 to the page, with no detail. */
  const sessionErrorHandler: ErrorRequestHandler = function sessionErrorHandler(err, _req, res, next) {
    if (res.headersSent) return next(err)
    onSessionError?.(err)
    const timedOut = isAuthCoreError(err) && err.code === 'ERR_TOKEN_REQUEST_TIMEOUT'
    res
      .status(502)
      .set('Cache-Control', 'no-store')
      .json({
        error: 'session_unavailable',
        error_description: timedOut
          ? 'eyepop did not answer in time: a session could not be created'
          : 'eyepop refused or could not be reached: a session could not be created',
      })
  }

  const app = express()
  app.disable('x-powered-by')
  app.use(securityHeaders)
  app.get('/api/eyepop-session', sendSession, sessionErrorHandler)
  app.get('/vendor/eyepop.min.js', sendSdkBundle)
  app.use(express.static(PUBLIC_DIR, { index: 'index.html' }))
  return app
}
