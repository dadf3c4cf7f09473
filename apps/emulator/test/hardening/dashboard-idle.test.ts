/**
 * A dashboard session ends after 30 minutes unused, and after 8 hours whatever its use.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { defaults } from '../../src/config/defaults.js'
import { SESSION_IDLE_SECONDS } from '../../src/http/dashboard-session.js'
import type { RunningServer } from '../../src/main.js'
import { browser, signIn } from '../manage/browser-session.js'
import { startTestServer } from '../helpers.js'

let running: RunningServer | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

async function signedIn() {
  // The emulator's clock runs with real time, set ahead by the test: oidc-provider, which issues the
  // dashboard's own tokens, keeps real time, and a clock frozen behind it refuses them ("iat" ahead).
  const start = Date.now()
  const clock = { now: start }
  const now = () => clock.now + (Date.now() - start)
  running = await startTestServer({}, { now })
  await running.emulator.ready
  const session = browser(running.url)
  expect((await signIn(session, 'dev@eyepop.local', 'eyepop-dev')).ok).toBe(true)
  return { clock, session }
}

/** 200 while the session lives; the dashboard sends a browser without one to sign in. */
const dashboardStatus = async (session: ReturnType<typeof browser>) => (await session.request('/dashboard')).status

describe('the dashboard session', () => {
  it('ends after 30 minutes unused', async () => {
    const { clock, session } = await signedIn()
    expect(SESSION_IDLE_SECONDS).toBe(30 * 60)
    clock.now += SESSION_IDLE_SECONDS * 1000 - 1000
    expect(await dashboardStatus(session)).toBe(200)
    // Used just now: another 30 minutes from here.
    clock.now += SESSION_IDLE_SECONDS * 1000 - 1000
    expect(await dashboardStatus(session)).toBe(200)
    clock.now += SESSION_IDLE_SECONDS * 1000
    expect(await dashboardStatus(session)).toBe(303)
    // Gone, not only refused: coming back early does not revive it.
    clock.now -= 60_000
    expect(await dashboardStatus(session)).toBe(303)
  })

  it('ends after 8 hours even when used all along', async () => {
    const { clock, session } = await signedIn()
    const end = clock.now + defaults.signInSessionSeconds * 1000
    while (clock.now + 20 * 60_000 < end) {
      clock.now += 20 * 60_000
      expect(await dashboardStatus(session)).toBe(200)
    }
    clock.now = end
    expect(await dashboardStatus(session)).toBe(303)
  })
})
