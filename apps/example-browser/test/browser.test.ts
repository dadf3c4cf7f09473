/**
 * The example end to end in headless Chromium: the emulator, the example server and the page with
 * the real EyePop SDK bundle. Every request the browser sends and every response it receives is
 * recorded, so the tests can show that the API key never reaches the browser, while the temporary
 * key does and is what the page uses on the emulator's Pop routes.
 *
 * Chromium is Debian's (`apt-get install chromium`) or `CHROMIUM_PATH`; it only talks to
 * 127.0.0.1: any other request is aborted and recorded, and a test fails if there was one.
 */
import { startServer, type RunningServer } from '@eyepop/emulator'
import type { ClientSession } from '@eyepop/auth-core'
import { launchChromium } from '@eyepop/real-sdks/testing/launch-chromium'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { pino } from 'pino'
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExampleServer, type CreateExampleServerOptions } from '../src/server.js'

const OUTPUT_DIR = fileURLToPath(new URL('../test-output/', import.meta.url))
const EXPIRED_MESSAGE = 'Your session has expired. Reload the page to get a new one.'

/** One request the browser sent. */
interface RecordedRequest {
  url: string
  method: string
  headers: Record<string, string>
  body: string | undefined
}

/** One response the browser received. */
interface RecordedResponse {
  url: string
  status: number
  headers: Record<string, string>
  /** The body text; undefined when Chromium no longer had it (e.g. a redirect). */
  body: string | undefined
}

/** A browser context with everything it sent and received. */
interface RecordedPage {
  context: BrowserContext
  page: Page
  requests: RecordedRequest[]
  responses: RecordedResponse[]
  /** WebSocket frames, both ways. */
  frames: string[]
  /** Requests to anything but 127.0.0.1, which were aborted. */
  offLoopback: string[]
  /** Uncaught errors and console errors of the page. */
  errors: string[]
  /** Waits until every response body has been read. */
  settled(): Promise<void>
}

let emulator: RunningServer
let apiKey: string
let popId: string
let browser: Browser
const servers: Server[] = []
const contexts: BrowserContext[] = []

async function listen(options: Omit<CreateExampleServerOptions, 'eyepopUrl' | 'apiKey' | 'popId'> = {}) {
  const app = createExampleServer({ eyepopUrl: emulator.url, apiKey, popId, ...options })
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function openRecordedPage(): Promise<RecordedPage> {
  const context = await browser.newContext()
  contexts.push(context)
  const requests: RecordedRequest[] = []
  const responses: RecordedResponse[] = []
  const frames: string[] = []
  const offLoopback: string[] = []
  const errors: string[] = []
  const pending: Promise<unknown>[] = []

  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => {
      offLoopback.push(route.request().url())
      return route.abort('blockedbyclient')
    },
  )
  // A recording that fails rejects `settled()`; one still being read when the context closes,
  // after the case's last `settled()`, must not surface as an unhandled rejection.
  const track = (recording: Promise<void>) => {
    recording.catch(() => undefined)
    pending.push(recording)
  }
  // Context-level events also cover requests made by workers of the page.
  context.on('request', (request) => {
    track(
      request.allHeaders().then((headers) => {
        requests.push({ url: request.url(), method: request.method(), headers, body: request.postData() ?? undefined })
      }),
    )
  })
  context.on('response', (response) => {
    track(
      Promise.all([response.allHeaders(), response.text().catch(() => undefined)]).then(([headers, body]) => {
        responses.push({ url: response.url(), status: response.status(), headers, body })
      }),
    )
  })
  const page = await context.newPage()
  // Uncaught errors and console errors (a Content-Security-Policy violation is one).
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`)
  })
  page.on('websocket', (ws) => {
    frames.push(ws.url())
    ws.on('framesent', ({ payload }) => frames.push(String(payload)))
    ws.on('framereceived', ({ payload }) => frames.push(String(payload)))
  })
  return {
    context,
    page,
    requests,
    responses,
    frames,
    offLoopback,
    errors,
    async settled() {
      // Reading a body can start while others finish: loop until nothing new was added.
      for (let seen = -1; seen !== pending.length; ) {
        seen = pending.length
        await Promise.all(pending)
      }
    },
  }
}

/** Waits until the status area's text matches `text` (a locator wait, so it works in hooks too). */
async function waitForStatus(page: Page, text: RegExp, timeout = 15_000): Promise<string> {
  const status = page.getByRole('status').filter({ hasText: text })
  await status.waitFor({ timeout })
  return (await status.textContent()) ?? ''
}

/** The session the page got from its server, from the recorded response. */
function sessionOf(recorded: RecordedPage): ClientSession {
  const response = recorded.responses.find((r) => new URL(r.url).pathname === '/api/eyepop-session')
  expect(response, 'the page fetched /api/eyepop-session').toBeDefined()
  expect(response!.status).toBe(200)
  return JSON.parse(response!.body!) as ClientSession
}

beforeAll(async () => {
  mkdirSync(OUTPUT_DIR, { recursive: true })
  emulator = await startServer({ port: 0, dataDir: null, logLevel: 'silent' }, { logger: pino({ level: 'silent' }) })
  const { services } = emulator.emulator
  const accountId = services.defaultAccount.id
  apiKey = (await services.keys.create(accountId, { name: 'example server', expires: 'never' })).key
  popId = (await services.pops.create(accountId, { name: 'example pop' })).id
  browser = await launchChromium()
})

afterAll(async () => {
  await Promise.allSettled(contexts.map((c) => c.close()))
  await browser?.close()
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
    ),
  )
  await emulator?.close()
})

describe('the example page', () => {
  let recorded: RecordedPage
  let session: ClientSession

  beforeAll(async () => {
    const url = await listen()
    recorded = await openRecordedPage()
    const { page } = recorded
    await page.goto(url)
    await waitForStatus(page, /^Ready\./)
    await page.screenshot({ path: `${OUTPUT_DIR}01-ready.png`, fullPage: true })
    await page.getByRole('button', { name: 'Run on a sample image' }).click()
    await waitForStatus(page, /^(Done|Something went wrong|Your session)/)
    await page.screenshot({ path: `${OUTPUT_DIR}02-prediction.png`, fullPage: true })
    await recorded.settled()
    session = sessionOf(recorded)
  })

  describe('on a click of "Run on a sample image"', () => {
    it('shows the canned prediction of the mock Pop', async () => {
      const { page } = recorded
      expect(await page.getByRole('status').textContent()).toBe('Done: 1 object found.')
      const items = page.getByTestId('prediction')
      expect(await items.count()).toBe(1)
      expect(await items.first().textContent()).toBe('person, confidence 0.97')
      expect(await items.first().getAttribute('data-label')).toBe('person')
      expect(await items.first().getAttribute('data-confidence')).toBe('0.97')
      const raw = JSON.parse((await page.locator('pre#raw').textContent())!)
      expect(raw).toMatchObject({
        source_width: 640,
        source_height: 480,
        objects: [{ classLabel: 'person', confidence: 0.97 }],
      })
    })

    it('runs without a script error or a Content-Security-Policy violation', () => {
      expect(recorded.errors).toEqual([])
    })

    it('got a session for its Pop, not cached', () => {
      expect(session).toEqual({ eyepopUrl: emulator.url, accessToken: expect.any(String), validUntil: expect.any(Number), popId })
      const response = recorded.responses.find((r) => r.url.endsWith('/api/eyepop-session'))!
      expect(response.headers['cache-control']).toBe('no-store')
    })
  })

  describe('what the browser sent and received', () => {
    /** Everything the browser saw, as one string. */
    async function everythingSeen(): Promise<{ received: string; sent: string; page: string }> {
      await recorded.settled()
      const { page } = recorded
      const storage = await page.evaluate<string>(
        'JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])',
      )
      return {
        received: JSON.stringify([recorded.responses, recorded.frames]),
        sent: JSON.stringify(recorded.requests),
        page: (await page.content()) + storage + (await page.evaluate<string>('document.documentElement.outerHTML')),
      }
    }

    it('never contains the API key', async () => {
      const seen = await everythingSeen()
      expect(recorded.responses.length).toBeGreaterThan(3)
      expect(recorded.requests.length).toBeGreaterThan(3)
      // The whole key, its secret random part, and the key in base64 (as in Basic auth).
      const forms = [apiKey, apiKey.slice(4, 48), Buffer.from(apiKey).toString('base64')]
      for (const form of forms) {
        expect(seen.received.includes(form), 'the API key is in a response').toBe(false)
        expect(seen.sent.includes(form), 'the API key is in a request').toBe(false)
        expect(seen.page.includes(form), 'the API key is in the page or its storage').toBe(false)
      }
    })

    it('contains the temporary key (the check above can fail)', async () => {
      const seen = await everythingSeen()
      expect(session.accessToken.length).toBeGreaterThan(20)
      expect(seen.received).toContain(session.accessToken)
      expect(seen.sent).toContain(session.accessToken)
    })

    it('called the Pop routes of the emulator directly, with the temporary key', () => {
      const config = recorded.requests.filter((r) => r.url.startsWith(`${emulator.url}/pops/${popId}/config`))
      expect(config.length).toBeGreaterThanOrEqual(1)
      for (const request of config) {
        expect(request.headers.authorization).toBe(`Bearer ${session.accessToken}`)
        expect(request.headers.authorization).not.toContain(apiKey)
      }
      const fromEmulator = recorded.responses.filter((r) => r.url.startsWith(`${emulator.url}/pops/${popId}/config`))
      expect(fromEmulator.map((r) => r.status)).toContain(200)
    })

    it('reached nothing beyond 127.0.0.1', () => {
      expect(recorded.offLoopback).toEqual([])
      for (const { url } of recorded.requests) expect(new URL(url).hostname).toBe('127.0.0.1')
    })
  })
})

describe('the example page with a session that has expired', () => {
  it(`says "${EXPIRED_MESSAGE}"`, async () => {
    const url = await listen({ ttlSeconds: 1 })
    const recorded = await openRecordedPage()
    const { page } = recorded
    await page.goto(url)
    await waitForStatus(page, /^Ready\./)
    await recorded.settled()
    const { validUntil } = sessionOf(recorded)
    expect(validUntil - Date.now()).toBeLessThanOrEqual(1_000)
    await expect.poll(() => Date.now() > validUntil, { timeout: 5_000, interval: 100 }).toBe(true)

    await page.getByRole('button', { name: 'Run on a sample image' }).click()
    expect(await waitForStatus(page, /expired/)).toBe(EXPIRED_MESSAGE)
    expect(await page.getByTestId('prediction').count()).toBe(0)
    await page.screenshot({ path: `${OUTPUT_DIR}03-expired.png`, fullPage: true })
    await recorded.settled()
    // The page knew from validUntil: it did not even try the Pop.
    expect(recorded.requests.filter((r) => r.url.startsWith(emulator.url))).toEqual([])
    expect(recorded.errors).toEqual([])
    expect(recorded.offLoopback).toEqual([])
  })
})
