/**
 * The dashboard end to end in headless Chromium, as a user goes through it: sign in (after a wrong
 * password), open the hamburger menu, create a Pop, create an API key from the once-only dialog,
 * use that key with the real EyePop SDK (1.18.1, unchanged), see the key listed without its
 * secret, delete it and see it stop authenticating, read the audit log, sign out.
 *
 * Every response the browser receives is recorded, so the test can show that after the create call
 * the secret never comes back to the browser. Screenshots of the main states go to
 * `test-output/dashboard/` (git-ignored) for review.
 *
 * Chromium is Debian's (`apt-get install chromium`) or `CHROMIUM_PATH`; it only talks to
 * 127.0.0.1: any other request is aborted and recorded, and a test fails if there was one.
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { EyePop } from '@eyepop.ai/eyepop'
import { clearEyePopEnv } from '@eyepop/real-sdks/testing/clear-eyepop-env'
import { launchChromium } from '@eyepop/real-sdks/testing/launch-chromium'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/main.js'
import { startTestServer } from '../helpers.js'

// The SDK reads EYEPOP_* variables when it builds an endpoint: the test's settings must be the only ones.
clearEyePopEnv()

const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url))
const EMAIL = 'dev@eyepop.local'
const PASSWORD = 'eyepop-dev'
const KEY_NAME = 'Checkout server'
const POP_NAME = 'Shelf counter'

// The SDK is typed against its own pino major; a silent logger of ours serves it.
type SdkLogger = NonNullable<Parameters<typeof EyePop.workerEndpoint>[0]>['logger']
const logger = pino({ level: 'silent' }) as unknown as SdkLogger

/** One response the browser received, in the order it arrived. */
interface RecordedResponse {
  url: string
  method: string
  status: number
  /** The body text, once read; undefined when Chromium no longer had it (e.g. a redirect). */
  body: Promise<string | undefined>
}

let running: RunningServer
let browser: Browser
let context: BrowserContext
let page: Page
const responses: RecordedResponse[] = []
/** Requests to anything but 127.0.0.1, which were aborted. */
const offLoopback: string[] = []
/** Uncaught errors and console errors of the page (a Content-Security-Policy violation is one). */
const errors: string[] = []

/** Saves a screenshot of the page's current state. */
async function snap(name: string): Promise<void> {
  await page.screenshot({ path: `${OUTPUT_DIR}${name}.png` })
}

/** Opens the hamburger menu with a click and chooses `item`. */
async function choose(item: 'API Keys' | 'Pops' | 'Audit log' | 'Sign out'): Promise<void> {
  await page.getByRole('button', { name: 'Menu' }).click()
  await page.getByRole('menuitem', { name: item }).click()
}

/** The text the page would copy, as the clipboard holds it. */
async function clipboard(): Promise<string> {
  return page.evaluate<string>('navigator.clipboard.readText()')
}

/** `POST /v1/auth/authenticate` with `key`, as a server would; the status. */
async function authenticate(key: string): Promise<number> {
  const res = await fetch(`${running.url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${key}` } })
  await res.body?.cancel()
  return res.status
}

beforeAll(async () => {
  mkdirSync(OUTPUT_DIR, { recursive: true })
  running = await startTestServer()
  expect(new URL(running.url).hostname).toBe('127.0.0.1')
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: running.url })
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => {
      offLoopback.push(route.request().url())
      return route.abort('blockedbyclient')
    },
  )
  context.on('response', (response) => {
    responses.push({
      url: response.url(),
      method: response.request().method(),
      status: response.status(),
      body: response.text().catch(() => undefined),
    })
  })
  page = await context.newPage()
  // Fail a step with Playwright's own message (what it waited for) before vitest's timeout.
  page.setDefaultTimeout(10_000)
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`))
  page.on('console', (message) => {
    // Failed loads are checked on the recorded responses instead, where their URL is known.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded')) {
      errors.push(`console: ${message.text()}`)
    }
  })
}, 30_000)

afterAll(async () => {
  await context?.close()
  await browser?.close()
  await running?.close()
})

// One user's way through the dashboard: each step starts where the previous one ended.
describe('the dashboard', { timeout: 30_000 }, () => {
  let popId: string
  let key: string
  let keyId: string
  /** Where the responses after the create call start in `responses`. */
  let afterCreate: number

  it('asks to sign in, says "Wrong email or password." for a wrong password, then opens on API Keys', async () => {
    await page.goto(`${running.url}/dashboard`)
    await page.waitForURL(/\/interaction\/[^/]+$/)
    await snap('01-login')

    await page.getByLabel('Email').fill(EMAIL)
    await page.getByLabel('Password').fill('not-the-password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong email or password.')
    await snap('02-login-error')

    await page.getByLabel('Email').fill(EMAIL)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${running.url}/dashboard`)
    await page.getByText(`Signed in as ${EMAIL}`).waitFor()
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('API Keys')
  })

  it('opens the hamburger menu from the keyboard and closes it with Escape, focus back on the button', async () => {
    const button = page.getByRole('button', { name: 'Menu' })
    expect(await button.getAttribute('aria-expanded')).toBe('false')
    expect(await button.getAttribute('aria-controls')).toBe('main-menu')
    await button.focus()
    await page.keyboard.press('Enter')
    expect(await button.getAttribute('aria-expanded')).toBe('true')
    const items = page.getByRole('menu').getByRole('menuitem')
    expect(await items.allTextContents()).toEqual(['API Keys', 'Pops', 'Audit log', 'Sign out'])
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('API Keys')
    await page.keyboard.press('ArrowDown')
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Pops')
    await page.keyboard.press('Escape')
    expect(await button.getAttribute('aria-expanded')).toBe('false')
    expect(await page.getByRole('menu').isVisible()).toBe(false)
    expect(await page.evaluate<string | null>('document.activeElement.getAttribute("aria-label")')).toBe('Menu')

    await page.keyboard.press(' ')
    expect(await button.getAttribute('aria-expanded')).toBe('true')
    await page.mouse.click(640, 700)
    expect(await button.getAttribute('aria-expanded')).toBe('false')
  })

  it('creates a Pop on the Pops page and shows its id with a Copy button', async () => {
    await choose('Pops')
    await page.waitForURL(`${running.url}/dashboard/pops`)
    await page.getByText('No Pops yet').waitFor()
    await page.locator('#view-pops').getByLabel('Name').fill(POP_NAME)
    await page.getByRole('button', { name: 'Create Pop' }).click()
    const row = page.getByRole('row', { name: new RegExp(POP_NAME) })
    await row.waitFor()
    popId = (await row.locator('code').textContent())!
    expect(popId.length).toBeGreaterThan(8)
    await row.getByRole('button', { name: /^Copy/ }).click()
    await row.getByText('Copied').waitFor()
    expect(await clipboard()).toBe(popId)
    await snap('09-pops')
    expect((await running.emulator.services.pops.list(running.emulator.services.defaultAccount.id)).map((p) => p.id)).toContain(popId)
  })

  it('shows "No API keys yet" under API Keys', async () => {
    await choose('API Keys')
    await page.waitForURL(`${running.url}/dashboard/keys`)
    await page.getByText('No API keys yet').waitFor()
    expect(await page.getByRole('table').count()).toBe(0)
    await snap('03-keys-empty')
  })

  it('refuses an empty name in the browser, inline under the field', async () => {
    await page.getByRole('button', { name: 'Create API Key' }).click()
    const dialog = page.getByRole('dialog', { name: 'Create API Key' })
    await dialog.waitFor()
    const name = dialog.getByLabel('Name')
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('key-name')
    const posts = responses.length
    await dialog.getByRole('button', { name: 'Create' }).click()
    expect(await name.getAttribute('aria-invalid')).toBe('true')
    const error = dialog.locator('#key-name-error')
    expect(await error.textContent()).toBe('Enter a name.')
    expect((await name.getAttribute('aria-describedby'))!.split(' ')).toContain('key-name-error')
    expect(responses.slice(posts).filter((r) => r.method === 'POST')).toEqual([])

    await name.fill('x'.repeat(101))
    await dialog.getByRole('button', { name: 'Create' }).click()
    expect(await error.textContent()).toMatch(/at most 100 characters/)
  })

  it("shows the server's refusal of a name inline under the field", async () => {
    // The browser checks the same rules as the server, so a refusal is staged here, once.
    const refusal = { error: 'invalid_request', error_description: 'name must not contain control characters' }
    await page.route(`${running.url}/api/v1/keys`, (route) => route.fulfill({ status: 400, json: refusal }), { times: 1 })
    const dialog = page.getByRole('dialog', { name: 'Create API Key' })
    await dialog.getByLabel('Name').fill('refused by the server')
    await dialog.getByRole('button', { name: 'Create' }).click()
    const error = dialog.locator('#key-name-error')
    await expect.poll(() => error.textContent()).toBe(refusal.error_description)
    expect(await error.isVisible()).toBe(true)
    expect(await dialog.getByLabel('Name').getAttribute('aria-invalid')).toBe('true')
    await page.unrouteAll()
  })

  it('closes the dialog on Escape, focus back on Create API Key', async () => {
    await page.keyboard.press('Escape')
    await page.getByRole('dialog').waitFor({ state: 'hidden' })
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Create API Key')
  })

  it('offers 7 days, 30 days, 90 days (the default), 1 year and Never, and says why', async () => {
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog', { name: 'Create API Key' })
    await dialog.waitFor()
    expect(await dialog.getByLabel('Name').inputValue()).toBe('')
    const expiration = dialog.getByLabel('Expiration')
    expect(await expiration.locator('option').allTextContents()).toEqual(['7 days', '30 days', '90 days', '1 year', 'Never'])
    expect(await expiration.inputValue()).toBe('90d')
    expect(await dialog.locator('#key-expires-hint').textContent()).toMatch(/limits the damage/)
  })

  it('creates a key with a name and an expiration and shows it once, with Copy and the warning', async () => {
    const dialog = page.getByRole('dialog', { name: 'Create API Key' })
    await dialog.getByLabel('Name').fill(KEY_NAME)
    await dialog.getByLabel('Expiration').selectOption({ label: '30 days' })
    await snap('04-create-dialog')
    const created = page.waitForResponse((r) => r.url() === `${running.url}/api/v1/keys` && r.request().method() === 'POST')
    await dialog.getByRole('button', { name: 'Create' }).click()
    const response = await created
    expect(response.status()).toBe(201)
    expect(response.request().headers()['x-csrf-token']).toMatch(/.{20,}/)
    afterCreate = responses.findIndex((r) => r.method === 'POST' && r.url === `${running.url}/api/v1/keys` && r.status === 201) + 1
    expect(afterCreate).toBeGreaterThan(0)

    const shown = page.getByRole('dialog', { name: 'Your new API key' })
    await shown.waitFor()
    await shown.getByText('Copy this key now. It will not be shown again.').waitFor()
    key = await shown.getByLabel(/^API key/).inputValue()
    expect(key).toMatch(/^eyp_[A-Za-z0-9]{50}$/)
    expect(await shown.getByLabel(/^API key/).getAttribute('readonly')).not.toBeNull()
    await shown.getByRole('button', { name: 'Copy' }).click()
    await shown.getByText('Copied').waitFor()
    expect(await clipboard()).toBe(key)
    await snap('05-key-shown-once')

    const listed = await running.emulator.services.keys.list(running.emulator.services.defaultAccount.id)
    expect(listed).toHaveLength(1)
    keyId = listed[0]!.id
    expect(listed[0]).toMatchObject({ name: KEY_NAME, hint: key.slice(-4), status: 'active' })
    const days = (Date.parse(listed[0]!.expiresAt!) - Date.parse(listed[0]!.createdAt)) / 86_400_000
    expect(days).toBe(30)
  })

  it('the key works with the EyePop SDK 1.18.1 on the Pop made in the dashboard', async () => {
    const endpoint = EyePop.workerEndpoint({ eyepopUrl: running.url, auth: { secretKey: key }, popId, logger })
    await endpoint.connect()
    const session = await endpoint.session()
    expect(session.popId).toBe(popId)
    expect(session.eyepopUrl).toBe(running.url)
    await endpoint.disconnect()
  })

  it('closes with Done, drops the key from the page, and lists the key by its hint only', async () => {
    const shown = page.getByRole('dialog', { name: 'Your new API key' })
    await shown.getByRole('button', { name: 'Done' }).click()
    await shown.waitFor({ state: 'hidden' })
    const row = page.getByRole('row', { name: new RegExp(KEY_NAME) })
    await row.waitFor()
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Create API Key')
    const cells = await row.locator('th, td').allTextContents()
    expect(cells.slice(0, 2)).toEqual([KEY_NAME, `…${key.slice(-4)}`])
    expect(cells[3]).not.toBe('Never')
    expect(cells[5]).toBe('Active')
    expect(await page.locator('#reveal-key').inputValue()).toBe('')
    expect(await page.content()).not.toContain(key)
    await snap('06-keys-list')
    await page.setViewportSize({ width: 390, height: 800 })
    await snap('06-keys-list-narrow')
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('after a reload, the secret is nowhere in the page, its storage, or any response since the create call', async () => {
    await page.reload()
    await page.getByRole('row', { name: new RegExp(KEY_NAME) }).waitFor()
    const storage = await page.evaluate<string>('JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])')
    const secretPart = key.slice(4, 48)
    for (const text of [await page.content(), storage]) {
      expect(text).not.toContain(key)
      expect(text).not.toContain(secretPart)
    }
    const since = responses.slice(afterCreate)
    expect(since.some((r) => r.url === `${running.url}/api/v1/keys` && r.method === 'GET')).toBe(true)
    for (const response of since) {
      const body = (await response.body) ?? ''
      expect(body.includes(secretPart), `${response.method} ${response.url} holds the key`).toBe(false)
    }
    // The create call's own response did carry it: the check above can fail.
    expect(await responses[afterCreate - 1]!.body).toContain(key)
  })

  it('deletes the key after confirmation; the row disappears and the key stops authenticating within a second', async () => {
    expect(await authenticate(key)).toBe(200)
    const row = page.getByRole('row', { name: new RegExp(KEY_NAME) })
    await row.getByRole('button', { name: /^Delete/ }).click()
    const confirm = page.getByRole('dialog', { name: 'Delete API key' })
    await confirm.waitFor()
    expect(await confirm.locator('#delete-question').textContent()).toBe(
      `Delete API key "${KEY_NAME}"? Apps using it stop working within a second.`,
    )
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Cancel')
    await snap('07-delete-confirmation')

    const deleted = page.waitForResponse((r) => r.url() === `${running.url}/api/v1/keys/${keyId}` && r.request().method() === 'DELETE')
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click()
    expect((await deleted).status()).toBe(204)
    const at = Date.now()
    let status = await authenticate(key)
    while (status !== 401 && Date.now() - at < 1000) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      status = await authenticate(key)
    }
    expect(status).toBe(401)
    expect(Date.now() - at).toBeLessThan(1000)

    await confirm.waitFor({ state: 'hidden' })
    await page.getByText('No API keys yet').waitFor()
    expect(await row.count()).toBe(0)
  })

  it('shows the created and deleted events in the audit log', async () => {
    await choose('Audit log')
    await page.waitForURL(`${running.url}/dashboard/audit`)
    // Audit events reach the store in batches: refresh until both are there.
    const rowOf = (event: string) => page.getByRole('row', { name: new RegExp(`${event}.*${keyId}`) })
    await expect
      .poll(
        async () => {
          if ((await rowOf('Key deleted').count()) === 0) await page.getByRole('button', { name: 'Refresh' }).click()
          return [await rowOf('Key created').count(), await rowOf('Key deleted').count()]
        },
        { timeout: 5_000, interval: 250 },
      )
      .toEqual([1, 1])
    await snap('08-audit')
  })

  it('runs without a script error or a Content-Security-Policy violation, and only on 127.0.0.1', () => {
    expect(errors).toEqual([])
    expect(offLoopback).toEqual([])
    // The only refusals: the wrong password and the staged refusal of a name.
    const refused = responses
      .filter((r) => r.status >= 400)
      .map((r) => `${r.status} ${r.method} ${new URL(r.url).pathname.replace(/^\/interaction\/[^/]+\//, '/interaction/{uid}/')}`)
    expect(refused).toEqual(['401 POST /interaction/{uid}/login', '400 POST /api/v1/keys'])
    const assets = responses.filter((r) => new URL(r.url).pathname.startsWith('/dashboard/assets/'))
    expect(assets.map((r) => new URL(r.url).pathname)).toContain('/dashboard/assets/app.js')
    for (const asset of assets) expect(asset.status, asset.url).toBe(200)
  })

  it('signs out back to the login page', async () => {
    await choose('Sign out')
    await page.waitForURL(/\/interaction\/[^/]+$/)
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    const answer = await page.evaluate<number>("fetch('/api/v1/session').then((r) => r.status)")
    expect(answer).toBe(401)
  })
})
