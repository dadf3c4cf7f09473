import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { DEFAULT_PREDICTION } from '../../src/services/predictions.js'
import { createTestEmulator, testConfig, type TestEmulator } from '../helpers.js'

let dir: string
let emulator: TestEmulator
let token: string
let popId: string
let customPopId: string
let pipelineId: string

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
const custom = [
  { source_width: 100, source_height: 50, objects: [{ classLabel: 'cat', confidence: 0.5, x: 1, y: 2, width: 3, height: 4 }] },
  { source_width: 100, source_height: 50, seconds: 1, objects: [] },
]

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eyepop-predictions-'))
  const file = join(dir, 'predictions.json')
  emulator = await createTestEmulator()
  const popIds = [(await emulator.createPop('default')).id, (await emulator.createPop('custom')).id]
  ;[popId, customPopId] = popIds as [string, string]
  writeFileSync(file, JSON.stringify({ pops: { [customPopId]: custom } }))
  await emulator.close()
  // Same store, now with the predictions file.
  emulator = await createTestEmulator({ predictionsFile: file }, { store: emulator.services.store })
  token = (await request(emulator.app).post('/v1/auth/authenticate').set('Authorization', `Bearer ${(await emulator.createKey()).key}`)).body.access_token
  pipelineId = (await request(emulator.app).get(`/pops/${popId}/config`).set('Authorization', `Bearer ${token}`)).body.pipeline_id
})
afterAll(async () => {
  await emulator.close()
  rmSync(dir, { recursive: true, force: true })
})

const auth = () => ({ Authorization: `Bearer ${token}` })

function lines(text: string): Array<Record<string, unknown>> {
  return text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
}

describe('process() on the mock Pop', () => {
  it('answers an uploaded image with the documented default prediction as JSON lines', async () => {
    const res = await request(emulator.app)
      .post(`/worker/pipelines/${pipelineId}/source?mode=queue&processing=sync`)
      .set(auth())
      .set('Content-Type', 'image/png')
      .send(PNG)
      .expect(200)
    expect(res.headers['content-type']).toMatch(/application\/jsonl/)
    const [prediction] = lines(res.text)
    expect(prediction).toEqual({ ...DEFAULT_PREDICTION, source_id: expect.any(String) })
  })

  it('answers a URL source without fetching it', async () => {
    const res = await request(emulator.app)
      .patch(`/worker/pipelines/${pipelineId}/source?mode=queue&processing=sync`)
      .set(auth())
      .send({ sourceType: 'URL', url: 'https://images.invalid/cat.jpg' })
      .expect(200)
    expect(lines(res.text)).toHaveLength(1)
  })

  it('answers with the Pop own predictions from the predictions file', async () => {
    const customPipeline = (await request(emulator.app).get(`/pops/${customPopId}/config`).set(auth())).body.pipeline_id
    const res = await request(emulator.app)
      .post(`/worker/pipelines/${customPipeline}/source?mode=queue&processing=sync`)
      .set(auth())
      .set('Content-Type', 'image/jpeg')
      .send(Buffer.from([0xff, 0xd8, 0xff]))
      .expect(200)
    expect(lines(res.text).map(({ source_id: _id, ...rest }) => rest)).toEqual(custom)
  })

  describe('with bad input', () => {
    it('refuses an empty upload, a JSON upload and an oversized one with 400', async () => {
      const url = `/worker/pipelines/${pipelineId}/source?mode=queue&processing=sync`
      for (const res of [
        await request(emulator.app).post(url).set(auth()).set('Content-Type', 'image/png').send(Buffer.alloc(0)),
        await request(emulator.app).post(url).set(auth()).send({ not: 'an image' }),
      ]) {
        expect(res.status).toBe(400)
        expect(res.body.error).toBe('invalid_request')
      }
      const small = await createTestEmulator({ maxUploadBytes: 1024 }, { store: emulator.services.store })
      try {
        const t = (await request(small.app).post('/v1/auth/authenticate').set('Authorization', `Bearer ${(await small.createKey()).key}`)).body.access_token
        const p = (await request(small.app).get(`/pops/${popId}/config`).set('Authorization', `Bearer ${t}`)).body.pipeline_id
        const res = await request(small.app)
          .post(`/worker/pipelines/${p}/source`)
          .set('Authorization', `Bearer ${t}`)
          .set('Content-Type', 'image/png')
          .send(Buffer.alloc(4096))
        expect(res.status).toBe(400)
        expect(res.body.error_description).toBe('upload is larger than 1024 bytes')
      } finally {
        await small.close()
      }
    })

    it('refuses an unsupported source type, a bad URL and a missing asset id with 400', async () => {
      for (const body of [{ sourceType: 'FTP' }, { sourceType: 'URL', url: 'file:///etc/passwd' }, { sourceType: 'ASSET_UUID' }]) {
        const res = await request(emulator.app).patch(`/worker/pipelines/${pipelineId}/source`).set(auth()).send(body)
        expect(res.status).toBe(400)
        expect(res.body.error).toBe('invalid_request')
      }
    })

    it('requires a token before reading an upload', async () => {
      const res = await request(emulator.app).post(`/worker/pipelines/${pipelineId}/source`).set('Content-Type', 'image/png').send(PNG)
      expect(res.status).toBe(401)
    })
  })
})

describe('a predictions file', () => {
  it('that is not valid makes start-up fail with a message naming it', async () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ default: { objects: [] } }))
    await expect(createApp({ ...testConfig, predictionsFile: bad })).rejects.toThrow(/source_width/)
    await expect(createApp({ ...testConfig, predictionsFile: join(dir, 'missing.json') })).rejects.toThrow(/missing\.json/)
  })
})
