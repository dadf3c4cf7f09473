import express, { Router, type Request, type Response } from 'express'
import { slowDown } from 'express-slow-down'
import type Provider from 'oidc-provider'
import { AccessDenied } from '../http/errors.js'
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
 * The emulator's own sign-in pages for oidc-provider's interactions:
 * - `GET /interaction/{uid}`: the login page;
 * - `POST /interaction/{uid}/login`: checks the email and password; a wrong pair re-renders the
 *   page with 401 and "Wrong email or password." (the same message whether or not the email
 *   exists), and repeated failures from one address for one email are slowed down (after 5, by
 *   0.5 s more each time, up to 5 s per attempt);
 * - `GET /interaction/{uid}/abort`: cancels the sign-in.
 * Pages are never cached.
 */
/**
 * A slow-down of failed password sign-ins: after 5 failures in 15 minutes under one key, each
 * further attempt waits 500 ms more (at most 5 s); a success does not count. `keyOf` resolving
 * `undefined` skips the request.
 */
function failedLoginSlowDown(name: string, keyOf: (req: Request) => string | undefined | Promise<string | undefined>) {
  const keys = new WeakMap<Request, string | undefined>()
  return slowDown({
    windowMs: 15 * 60 * 1000,
    delayAfter: 5,
    delayMs: (hits) => Math.min(5000, (hits - 5) * 500),
    skipSuccessfulRequests: true,
    async skip(req) {
      keys.set(req, await keyOf(req))
      return keys.get(req) === undefined
    },
    keyGenerator: (req) => `${name}:${keys.get(req)}`,
    validate: { trustProxy: false, xForwardedForHeader: false, keyGeneratorIpFallback: false },
  })
}

export function interactionRoutes(deps: { provider: Provider; accounts: PasswordAuthenticator; staticDir: string }): Router {
  const router = Router()
  const { provider } = deps
  router.use('/interaction/assets', express.static(deps.staticDir, { index: false, fallthrough: false }))
  router.use('/interaction', function noStore(_req, res, next) {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })

  async function details(req: Request, res: Response) {
    try {
      return await provider.interactionDetails(req, res)
    } catch {
      res.status(400).type('html').send(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in expired</title><link rel="stylesheet" href="/interaction/assets/login.css"></head><body><main><h1>Sign-in expired</h1><p role="alert">This sign-in has expired or was already used.</p><p><a href="/dashboard">Start again</a></p></main></body></html>',
      )
      return undefined
    }
  }

  router.get('/interaction/:uid', async function showLogin(req, res) {
    const interaction = await details(req, res)
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
    res.type('html').send(loginPage(interaction.uid, { client: client?.clientName ?? undefined }))
  })

  router.post(
    '/interaction/:uid/login',
    express.urlencoded({ extended: false, limit: 8 * 1024, parameterLimit: 10 }),
    // Failed sign-ins get slower per address, and per account for one that exists (attempts on it
    // from many addresses). Both keyed by bounded spaces: an attacker's made-up emails add no entry.
    failedLoginSlowDown('address', (req) => req.ip ?? 'unknown'),
    failedLoginSlowDown('account', async (req) => {
      const email = (req.body as Record<string, unknown> | undefined)?.email
      const account = typeof email === 'string' && email.trim() ? await deps.accounts.findByEmail(email.trim()) : undefined
      return account ? account.id : undefined
    }),
    async function login(req, res) {
      const interaction = await details(req, res)
      if (!interaction) return
      const body = (req.body ?? {}) as Record<string, unknown>
      const email = typeof body.email === 'string' ? body.email.trim() : ''
      const password = typeof body.password === 'string' ? body.password : ''
      const account = email && password ? await deps.accounts.authenticate(email, password) : undefined
      if (!account) {
        res.status(401).type('html').send(loginPage(interaction.uid, { email, error: 'Wrong email or password.' }))
        return
      }
      await provider.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false })
    },
  )

  router.get('/interaction/:uid/abort', async function abort(req, res) {
    const interaction = await details(req, res)
    if (!interaction) return
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the sign-in was cancelled' },
      { mergeWithLastSubmission: false },
    )
  })

  return router
}
