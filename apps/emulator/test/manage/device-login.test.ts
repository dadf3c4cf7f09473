/**
 * `eyepop-emulator login`: the device authorization grant (RFC 8628). The CLI side runs the real
 * `deviceLogin`; the user's side is a cookie-keeping HTTP client that opens the verification URL,
 * confirms the code and signs in with the password, as a person would in a browser.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceLogin, type SavedCredentials } from '../../src/cli/login.js'
import type { RunningServer } from '../../src/main.js'
import { approve, browser, pathOf, submitForm } from './browser-session.js'
import { startTestServer } from '../helpers.js'

let running: RunningServer
let dir: string

beforeAll(async () => {
  running = await startTestServer()
  dir = mkdtempSync(join(tmpdir(), 'eyepop-login-'))
})
afterAll(async () => {
  await running.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('eyepop-emulator login (device flow)', () => {
  it('signs the CLI in once the user confirms the code and signs in; the token manages keys', async () => {
    let shown: { uri: string; code: string; complete: string } | undefined
    const file = join(dir, 'credentials.json')
    // A file left readable by others (an older version, a copy): the new token must not be.
    writeFileSync(file, '{}\n', { mode: 0o644 })
    chmodSync(file, 0o644)
    const login = deviceLogin({
      url: running.url,
      credentialsFile: file,
      prompt: (uri, code, complete) => (shown = { uri, code, complete }),
      sleep: () => new Promise((r) => setTimeout(r, 50)),
    })
    await expect.poll(() => shown, { timeout: 3000 }).toBeDefined()
    expect(shown!.code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/)
    expect(shown!.uri).toBe(`${running.url}/device`)
    const finalPage = await approve(browser(running.url), shown!.complete, 'eyepop-dev')
    expect(finalPage).toContain('You are signed in')
    const saved: SavedCredentials = await login
    expect(saved.account.email).toBe('dev@eyepop.local')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(JSON.parse(readFileSync(file, 'utf8')).accessToken).toBe(saved.accessToken)

    const keys = await fetch(`${running.url}/api/v1/keys`, { headers: { Authorization: `Bearer ${saved.accessToken}` } })
    expect(keys.status).toBe(200)
    const created = await fetch(`${running.url}/api/v1/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${saved.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'from the CLI token', expires: '7d' }),
    })
    expect(created.status).toBe(201)
    // The user token is not an API-key token: the Pop routes refuse it.
    const pop = await running.emulator.services.pops.create(saved.account.id, { name: 'p' })
    const popConfig = await fetch(`${running.url}/pops/${pop.id}/config`, { headers: { Authorization: `Bearer ${saved.accessToken}` } })
    expect(popConfig.status).toBe(401)

    // RFC 7009: revoking it (200) revokes it: it stops managing keys within a second.
    const revoked = await fetch(`${running.url}/token/revocation`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: saved.accessToken }),
    })
    expect(revoked.status).toBe(200)
    await expect
      .poll(async () => (await fetch(`${running.url}/api/v1/keys`, { headers: { Authorization: `Bearer ${saved.accessToken}` } })).status, { timeout: 1000, interval: 20 })
      .toBe(401)
  })

  it('signs users\' tokens with the new signing key after a rotation, and the earlier ones still manage keys', async () => {
    const signIn = async (name: string) => {
      let complete = ''
      const login = deviceLogin({
        url: running.url,
        credentialsFile: join(dir, `${name}.json`),
        prompt: (_uri, _code, uri) => (complete = uri),
        sleep: () => new Promise((r) => setTimeout(r, 50)),
      })
      await expect.poll(() => complete, { timeout: 3000 }).not.toBe('')
      await approve(browser(running.url), complete, 'eyepop-dev')
      return (await login).accessToken
    }
    const listKeys = (token: string) => fetch(`${running.url}/api/v1/keys`, { headers: { Authorization: `Bearer ${token}` } })
    const before = await signIn('before-rotation')
    const oldKid = running.emulator.keyring.signingKey.kid
    expect(decodeProtectedHeader(before).kid).toBe(oldKid)
    const rotated = await running.emulator.keyring.rotate()
    const after = await signIn('after-rotation')
    expect(decodeProtectedHeader(after).kid).toBe(rotated.kid)
    expect((await listKeys(after)).status).toBe(200)
    expect((await listKeys(before)).status).toBe(200)
  })

  it('fails clearly when the user cancels', async () => {
    let complete = ''
    const login = deviceLogin({
      url: running.url,
      credentialsFile: join(dir, 'cancelled.json'),
      prompt: (_uri, _code, c) => (complete = c),
      sleep: () => new Promise((r) => setTimeout(r, 50)),
    })
    // It may be refused while the form below is still being answered, before the expectation at
    // the end holds it: handled now, so vitest does not count it as an unhandled rejection.
    login.catch(() => undefined)
    await expect.poll(() => complete, { timeout: 3000 }).not.toBe('')
    const user = browser(running.url)
    let res = await user.request(pathOf(complete))
    res = await submitForm(user, await res.text())
    const confirm = await res.text()
    expect(confirm).toContain('op.deviceConfirmForm')
    await submitForm(user, confirm, { abort: 'yes' }, 'op.deviceConfirmForm')
    await expect(login).rejects.toThrow('the sign-in was denied')
  })
})
