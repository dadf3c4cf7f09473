import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Request, Response } from 'express'
import { slowDown } from 'express-slow-down'
import type Provider from 'oidc-provider'
import { sendText } from '../http/error-handler.js'
import { AccessDenied } from '../http/errors.js'
import { noStore, pageHeaders } from '../http/guards.js'
import { defineRoute, type Route, type RouteGuard } from '../http/route-table.js'
import { sendFile } from '../http/static-file.js'
import type { AccountRecord } from '../store/types.js'

/** What the login page needs to check a password. */
export interface PasswordAuthenticator {
  authenticate(email: string, password: string): Promise<AccountRecord | undefined>
  findByEmail(email: string): Promise<{ readonly id: string } | undefined>
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function loginPage(uid: string, options: { email?: string; error?: string; client?: string }): string {
  const action = `/interaction/${encodeURIComponent(uid)}/login`
  const alert = options.error ? `<p role="alert" id="login-error">${escapeHtml(options.error)}</p>` : ''
  const described = options.error ? ' aria-describedby="login-error"' : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · EyePop emulator</title>
<link rel="stylesheet" href="/interaction/assets/login.css">
</head>
<body>
<main>
<h1>Sign in</h1>
<p class="lead">to ${escapeHtml(options.client ?? 'the EyePop dashboard')}</p>
<form method="post" action="${action}" novalidate>
${alert}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${escapeHtml(options.email ?? '')}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described}>
<button type="submit">Sign in</button>
</form>
<p class="hint">This is a local emulator: accounts come from its configuration.</p>
</main>
</body>
</html>`
}

/**
 * A slow-down of failed password sign-ins: after 5 failures in 15 minutes under one key, each
 * further attempt waits 500 ms more (at most 5 s); a success does not count. Resolves once the
 * attempt may go on; a `key` of `undefined` is not counted.
 */
function failedLoginSlowDown(name: string): (req: IncomingMessage, res: ServerResponse, key: string | undefined) => Promise<void> {
  const keys = new WeakMap<IncomingMessage, string>()
  const middleware = slowDown({
    windowMs: 15 * 60 * 1000,
    delayAfter: 5,
    delayMs: (hits) => Math.min(5000, (hits - 5) * 500),
    skipSuccessfulRequests: true,
    keyGenerator: (req) => `${name}:${keys.get(req)}`,
    validate: { trustProxy: false, xForwardedForHeader: false, keyGeneratorIpFallback: false },
  })
  return function slowDownFailures(req, res, key) {
    if (key === undefined) return Promise.resolve()
    keys.set(req, key)
    return new Promise((resolve, reject) => {
      // express-slow-down is typed for Express, but with this key it reads only the status of a
      // plain response (a success is not counted) and waits.
      middleware(req as Request, res as Response, (err?: unknown) => (err === undefined ? resolve() : reject(err)))
    })
  }
}

/** The page of a sign-in that has expired or was already used (400). */
const EXPIRED_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in expired</title><link rel="stylesheet" href="/interaction/assets/login.css"></head><body><main><h1>Sign-in expired</h1><p role="alert">This sign-in has expired or was already used.</p><p><a href="/dashboard">Start again</a></p></main></body></html>'

/**
 * The emulator's own sign-in pages for oidc-provider's interactions:
 * - `GET /interaction/{uid}`: the login page;
 * - `POST /interaction/{uid}/login`: checks the email and password; a wrong pair re-renders the
 *   page with 401 and "Wrong email or password." (the same message whether or not the email
 *   exists), and repeated failures from one address, and for one existing account, are slowed down
 *   (after 5, by 0.5 s more each time, up to 5 s per attempt);
 * - `GET /interaction/{uid}/abort`: cancels the sign-in;
 * - their stylesheet, `GET /interaction/assets/login.css` (from `staticDir`).
 * Each carries the pages' security headers; the pages wait for oidc-provider (`provider`) and are
 * never cached.
 */
export function signInRoutes(deps: {
  /** oidc-provider once it has loaded (it rejects with a 503 if it could not). */
  provider: () => Promise<Provider>
  accounts: PasswordAuthenticator
  staticDir: string
}): Route[] {
  const waitForProvider: RouteGuard = async function waitForProvider() {
    await deps.provider()
  }
  const guards = [pageHeaders, waitForProvider, noStore]
  // Failed sign-ins get slower per address, and per account for one that exists (attempts on it
  // from many addresses). Both keyed by bounded spaces: an attacker's made-up emails add no entry.
  const slowDownAddress = failedLoginSlowDown('address')
  const slowDownAccount = failedLoginSlowDown('account')

  /** The interaction of this browser's sign-in, or `undefined` once the expired page is sent. */
  async function details(provider: Provider, req: IncomingMessage, res: ServerResponse) {
    try {
      return await provider.interactionDetails(req, res)
    } catch {
      sendText(res, 400, 'text/html', EXPIRED_PAGE)
      return undefined
    }
  }

  return [
    defineRoute({
      method: 'GET',
      path: '/interaction/assets/:file',
      guards: [pageHeaders],
      handler: (req, res, { params }) => sendFile(req, res, deps.staticDir, params.file!),
    }),
    defineRoute({
      method: 'GET',
      path: '/interaction/:uid',
      guards,
      async handler(req, res) {
        const provider = await deps.provider()
        const interaction = await details(provider, req, res)
        if (!interaction) return
        if (interaction.prompt.name === 'consent') {
          // Every client is the emulator's own (dashboard, CLI): grant what it asked for, no screen.
          const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = interaction.prompt.details as {
            missingOIDCScope?: string[]
            missingOIDCClaims?: string[]
            missingResourceScopes?: Record<string, string[]>
          }
          const grant = interaction.grantId
            ? ((await provider.Grant.find(interaction.grantId)) ?? undefined)
            : new provider.Grant({ accountId: interaction.session!.accountId, clientId: String(interaction.params.client_id) })
          if (!grant) throw new AccessDenied('sign-in grant not found; start again')
          if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '))
          if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims)
          for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '))
          const grantId = await grant.save()
          await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
          return
        }
        const client = await provider.Client.find(String(interaction.params.client_id ?? ''))
        sendText(res, 200, 'text/html', loginPage(interaction.uid, { client: client?.clientName ?? undefined }))
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/interaction/:uid/login',
      guards,
      body: { kind: 'form', limit: 8 * 1024, fields: 10, optional: true },
      async handler(req, res, { body }) {
        const email = typeof body.email === 'string' ? body.email.trim() : ''
        await slowDownAddress(req, res, req.socket.remoteAddress ?? 'unknown')
        const known = email ? await deps.accounts.findByEmail(email) : undefined
        await slowDownAccount(req, res, known?.id)
        const provider = await deps.provider()
        const interaction = await details(provider, req, res)
        if (!interaction) return
        const password = typeof body.password === 'string' ? body.password : ''
        const account = email && password ? await deps.accounts.authenticate(email, password) : undefined
        if (!account) {
          sendText(res, 401, 'text/html', loginPage(interaction.uid, { email, error: 'Wrong email or password.' }))
          return
        }
        await provider.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false })
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/interaction/:uid/abort',
      guards,
      async handler(req, res) {
        const provider = await deps.provider()
        const interaction = await details(provider, req, res)
        if (!interaction) return
        await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'the sign-in was cancelled' },
          { mergeWithLastSubmission: false },
        )
      },
    }),
  ]
}
