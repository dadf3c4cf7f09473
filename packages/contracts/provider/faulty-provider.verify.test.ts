/**
 * The contracts can fail: the real emulator behind a deliberately faulty front, which renames
 * `access_token` in every JSON answer (a plausible refactoring slip), must fail verification.
 * The fault lives only in this test, in front of `emulator.app`; nothing in the emulator changes.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RunningServer } from '@eyepop/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROVIDER } from '../src/participants.js'
import { startEmulator, verifyPacts } from './verify-emulator.js'

/** The parts of pact-core's verification report read here. */
interface VerificationReport {
  errors: Array<{ interaction: string; mismatch: { mismatches: Array<{ mismatch: string }> } }>
  interactionResults: Array<{ description: string; result: string }>
}

let running: RunningServer
let faulty: Server

/** The emulator's app, with `"access_token"` renamed to `"accessToken_renamed"` in every answer. */
function renameAccessToken(app: RunningServer['emulator']['app']): Server {
  return createServer(function faultyFront(req, res) {
    const write = res.write.bind(res)
    const end = res.end.bind(res)
    const chunks: Buffer[] = []
    res.write = ((chunk: unknown) => {
      chunks.push(Buffer.from(chunk as Buffer))
      return true
    }) as typeof res.write
    res.end = ((chunk?: unknown) => {
      if (chunk !== undefined && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as Buffer))
      const body = Buffer.concat(chunks).toString().replaceAll('"access_token"', '"accessToken_renamed"')
      if (!res.headersSent) res.setHeader('content-length', Buffer.byteLength(body))
      write(body)
      return end()
    }) as typeof res.end
    app(req, res)
  })
}

beforeAll(async () => {
  running = await startEmulator()
  faulty = renameAccessToken(running.emulator.app)
  await new Promise<void>((resolve) => faulty.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  await new Promise<void>((resolve) => faulty?.close(() => resolve()))
  await running?.close()
})

describe(`${PROVIDER} with a renamed access_token`, () => {
  it('fails verification', async () => {
    const url = `http://127.0.0.1:${(faulty.address() as AddressInfo).port}`
    const failure = await verifyPacts(url, running).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(failure).toBeInstanceOf(Error)
    // pact-core rejects with its JSON report: every failure must be the renamed field, and the
    // interactions that never carried an access_token must still pass.
    const report = JSON.parse((failure as Error).message) as VerificationReport
    const mismatches = report.errors.flatMap((e) => e.mismatch.mismatches.map((m) => m.mismatch))
    expect(report.errors.length).toBeGreaterThanOrEqual(5)
    expect(mismatches.every((m) => /access_token/.test(m)), mismatches.join('\n')).toBe(true)
    expect(report.interactionResults.some((r) => r.result === 'OK')).toBe(true)
  })
})
