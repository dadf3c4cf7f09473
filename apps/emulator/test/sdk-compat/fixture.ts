import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCliJson, startEmulatorProcess, type EmulatorProcess } from '../e2e/process.js'

/** A 1×1 PNG. The mock Pop never decodes what it is sent. */
export const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5fb5e6a0000000049454e44ae426082',
  'hex',
)
/** Bytes in an MP4 box, enough for a `video/mp4` upload. */
export const MP4 = Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'), Buffer.alloc(4096, 7)])
/** An image URL the mock Pop "processes" without fetching it. */
export const IMAGE_URL = 'https://images.invalid/shelf.jpg'

/** The emulator as a user runs it (the installed command), with a key and a Pop made by its CLI. */
export interface CompatEmulator {
  readonly url: string
  readonly apiKey: string
  readonly popId: string
  readonly image: string
  readonly video: string
  /** Creates another API key with the CLI. */
  createKey(name: string): Promise<{ id: string; key: string }>
  /** Exchanges an API key at `POST /v1/auth/authenticate`. */
  accessToken(apiKey?: string): Promise<string>
  /** Opens a compute session at `POST /v1/sessions`, as a deployment would; returns its uuid. */
  openSession(): Promise<string>
  /** Whether a compute session is live (`GET /v1/sessions/{uuid}`). */
  sessionIsLive(uuid: string): Promise<boolean>
  /** Mints a temporary key for a browser at `POST /v1/auth/client-sessions`. */
  clientSession(popId: string, ttlSeconds: number): Promise<{ eyepopUrl: string; accessToken: string; validUntil: number; popId: string }>
  close(): Promise<void>
}

export async function startCompatEmulator(name: string): Promise<CompatEmulator> {
  const dataDir = mkdtempSync(join(tmpdir(), `eyepop-${name}-`))
  const image = join(dataDir, 'shelf.png')
  const video = join(dataDir, 'clip.mp4')
  writeFileSync(image, PNG)
  writeFileSync(video, MP4)
  const createKey = (keyName: string) => runCliJson<{ id: string; key: string }>(['keys', 'create', '--name', keyName, '--expires', '7d', '--data-dir', dataDir])
  const { key: apiKey } = await createKey(`${name} server`)
  const { id: popId } = await runCliJson<{ id: string }>(['pops', 'create', '--name', `${name} pop`, '--data-dir', dataDir])
  let emulator: EmulatorProcess
  try {
    emulator = await startEmulatorProcess(['--data-dir', dataDir])
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
  const { url } = emulator
  return {
    url,
    apiKey,
    popId,
    image,
    video,
    createKey,
    async accessToken(key = apiKey) {
      const res = await fetch(`${url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${key}` } })
      if (res.status !== 200) throw new Error(`POST /v1/auth/authenticate answered ${res.status}: ${await res.text()}`)
      return ((await res.json()) as { access_token: string }).access_token
    },
    async openSession() {
      const res = await fetch(`${url}/v1/sessions?wait=true`, { method: 'POST', headers: { Authorization: `Bearer ${apiKey}` } })
      if (res.status !== 200) throw new Error(`POST /v1/sessions answered ${res.status}: ${await res.text()}`)
      return ((await res.json()) as Array<{ session_uuid: string }>)[0]!.session_uuid
    },
    async sessionIsLive(uuid) {
      const res = await fetch(`${url}/v1/sessions/${uuid}`, { headers: { Authorization: `Bearer ${apiKey}` } })
      await res.body?.cancel()
      return res.status === 200
    },
    async clientSession(forPop, ttlSeconds) {
      const res = await fetch(`${url}/v1/auth/client-sessions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ pop_id: forPop, ttl_seconds: ttlSeconds }),
      })
      if (res.status !== 200) throw new Error(`POST /v1/auth/client-sessions answered ${res.status}: ${await res.text()}`)
      return (await res.json()) as { eyepopUrl: string; accessToken: string; validUntil: number; popId: string }
    },
    async close() {
      await emulator.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
