/**
 * Provider verification: the real emulator (in-memory store) honours every pact in `pacts/`.
 * Provider states seed through the emulator's own service layer and hand generated values (API
 * keys, Pop ids) back to the interactions through `fromProviderState`. A second run against an
 * emulator with a deliberate fault proves the contracts can fail.
 */
import { existsSync, readdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApiKey, type Store } from '@eyepop/auth-core'
import { startServer, type RunningServer } from '@eyepop/emulator'
import { Verifier } from '@pact-foundation/pact'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSUMERS, PACT_DIR, PROVIDER, pactFileOf } from '../src/participants.js'

let running: RunningServer

beforeAll(async () => {
  running = await startServer({ port: 0, dataDir: null, logLevel: 'silent' }, { logger: pino({ level: 'silent' }) })
})
afterAll(() => running?.close())

type StateHandlers = NonNullable<ConstructorParameters<typeof Verifier>[0]['stateHandlers']>
type Params = Record<string, unknown> | undefined

function stateHandlers(emulator: RunningServer['emulator']): StateHandlers {
  const { services } = emulator
  const account = services.defaultAccount.id
  const store: Store = services.store
  const name = (params: unknown, fallback: string) => String((params as Params)?.name ?? fallback)
  return {
    'an api key named {name} exists': async (params?: unknown) => {
      const created = await services.keys.create(account, { name: name(params, 'contract key'), expires: 'never' })
      const { access_token: accessToken } = await emulator.tokens.exchangeApiKey(created.key)
      return { apiKey: created.key, keyId: created.id, accessToken }
    },
    'an api key named {name} was deleted': async (params?: unknown) => {
      const created = await services.keys.create(account, { name: name(params, 'deleted key'), expires: 'never' })
      await services.keys.delete(account, created.id)
      return { apiKey: created.key }
    },
    'an api key named {name} has expired': async (params?: unknown) => {
      const day = 86_400_000
      const { key } = await createApiKey({
        store,
        accountId: account,
        name: name(params, 'expired key'),
        expiresAt: Date.now() - day,
        pepper: services.pepper,
        now: () => Date.now() - 8 * day,
      })
      return { apiKey: key }
    },
    'no api key is registered': async () => undefined,
    'a pop named {name} exists': async (params?: unknown) => {
      const pop = await services.pops.create(account, { name: name(params, 'contract pop') })
      return { popId: pop.id }
    },
  }
}

function pactFiles(): string[] {
  return existsSync(PACT_DIR) ? readdirSync(PACT_DIR).filter((f) => f.endsWith('.json')).map((f) => `${PACT_DIR}${f}`) : []
}

function verify(providerBaseUrl: string, emulator: RunningServer['emulator']) {
  const broker = process.env.PACT_BROKER_BASE_URL
  return new Verifier({
    provider: PROVIDER,
    providerBaseUrl,
    pactUrls: pactFiles(),
    stateHandlers: stateHandlers(emulator),
    logLevel: 'error',
    // Publishing is for a team with a broker, from CI only (see the README); off by default.
    ...(broker && process.env.CI === 'true' && {
      publishVerificationResult: true,
      providerVersion: process.env.PACT_PROVIDER_VERSION ?? 'local',
      providerVersionBranch: process.env.PACT_PROVIDER_BRANCH ?? 'main',
    }),
  }).verifyProvider()
}

describe(`${PROVIDER} (the emulator)`, () => {
  it('has a pact file from every consumer suite', () => {
    for (const consumer of CONSUMERS) expect(existsSync(pactFileOf(consumer)), `${consumer} pact`).toBe(true)
    expect(pactFiles()).toHaveLength(CONSUMERS.length)
  })

  it('honours every interaction of every pact', async () => {
    await expect(verify(running.url, running.emulator)).resolves.toBeDefined()
  })

  it('fails verification when the token response breaks the contract (access_token renamed)', async () => {
    // A deliberately faulty provider: the same emulator behind a proxy that renames a field.
    const faulty: Server = createServer((req, res) => {
      const write = res.write.bind(res)
      const end = res.end.bind(res)
      const chunks: Buffer[] = []
      res.write = ((chunk: unknown) => {
        chunks.push(Buffer.from(chunk as Buffer))
        return true
      }) as typeof res.write
      res.end = ((chunk?: unknown) => {
        if (chunk) chunks.push(Buffer.from(chunk as Buffer))
        const body = Buffer.concat(chunks).toString().replace('"access_token"', '"accessToken_renamed"')
        res.removeHeader('content-length')
        write(body)
        return end()
      }) as typeof res.end
      running.emulator.app(req, res)
    })
    await new Promise<void>((resolve) => faulty.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(faulty.address() as AddressInfo).port}`
      const failure = await verify(url, running.emulator).then(
        () => undefined,
        (err: unknown) => err as Error,
      )
      expect(failure).toBeInstanceOf(Error)
      expect(failure!.message).toMatch(/verif/i)
      expect(failure!.message).not.toMatch(/requires/)
    } finally {
      await new Promise<void>((resolve) => faulty.close(() => resolve()))
    }
  })
})
