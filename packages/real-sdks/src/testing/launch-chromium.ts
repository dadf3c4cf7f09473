/**
 * `@eyepop/real-sdks/testing/launch-chromium`: the one way the tests start a browser.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/**
 * The arguments Debian's Chromium needs headless, as root and offline (see ../shared/stack-notes.md):
 * no sandbox, no GPU, and none of its background traffic (updates, sync, QUIC probes). Never
 * `--user-data-dir`: Playwright refuses it in `args`.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]

/** Where Chromium is: `CHROMIUM_PATH`, or Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
}

/**
 * Launches headless Chromium (Debian's, or `CHROMIUM_PATH`) with {@link CHROMIUM_ARGS}.
 *
 * Throws, with what to install, when there is no Chromium at that path: a suite that needs a
 * browser fails, it never skips. Nothing is downloaded (never `npx playwright install`).
 *
 * @example
 * ```ts
 * import { launchChromium } from '@eyepop/real-sdks/testing/launch-chromium'
 *
 * let browser: Browser
 * beforeAll(async () => {
 *   browser = await launchChromium()
 * })
 * afterAll(() => browser?.close())
 * ```
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath()
  if (!existsSync(executablePath)) {
    throw new Error(`chromium must be installed at ${executablePath} (apt-get install chromium) or CHROMIUM_PATH set`)
  }
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] })
}
