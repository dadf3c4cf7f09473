import type { KoaContextWithOIDC } from 'oidc-provider'

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(ctx: KoaContextWithOIDC, title: string, body: string): void {
  ctx.type = 'html'
  ctx.body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · EyePop emulator</title>
<link rel="stylesheet" href="/interaction/assets/login.css">
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`
}

/**
 * The device flow's pages (RFC 8628), in the emulator's own style and within its
 * Content-Security-Policy (no inline script or style, no external fonts).
 */
export const devicePages = {
  async userCodeInputSource(ctx: KoaContextWithOIDC, form: string, _out?: unknown, err?: { userCode?: unknown; name?: string }) {
    let message = '<p class="lead">Enter the code shown in your terminal.</p>'
    if (err && (err.userCode || err.name === 'NoCodeError')) message = '<p role="alert">That code is not valid. Check it and try again.</p>'
    else if (err && err.name === 'AbortedError') message = '<p role="alert">The sign-in was cancelled.</p>'
    else if (err) message = '<p role="alert">The sign-in could not be completed. Start again from your terminal.</p>'
    page(
      ctx,
      'Sign in a device',
      `${message}${form}<label for="user_code">Code</label><input id="user_code" name="user_code" form="op.deviceInputForm" autocomplete="off" autocapitalize="characters" placeholder="XXXX-XXXX" required autofocus><button type="submit" form="op.deviceInputForm">Continue</button>`,
    )
  },
  async userCodeConfirmSource(ctx: KoaContextWithOIDC, form: string, client: { clientName?: string; clientId: string }, _deviceInfo: unknown, userCode: string) {
    page(
      ctx,
      'Confirm the code',
      `<p class="lead">${escapeHtml(client.clientName ?? client.clientId)} asks to manage your API keys. Continue only if your terminal shows this code:</p><p><strong>${escapeHtml(userCode)}</strong></p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button><button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Cancel</button>`,
    )
  },
  async successSource(ctx: KoaContextWithOIDC) {
    page(ctx, 'Signed in', '<p class="lead">You are signed in. You can close this page and return to your terminal.</p>')
  },
}
