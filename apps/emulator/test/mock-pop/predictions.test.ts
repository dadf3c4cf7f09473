import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
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
  customPipelineId = (await request(emulator.app).get(`/pops/${customPopId}/config`).set('Authorization', `Bearer ${token}`)).body.pipeline_id
})
afterAll(async () => {
  if (server?.listening) await new Promise((resolve) => server!.close(resolve))
  await emulator.close()
  rmSync(dir, { recursive: true, force: true })
})

const auth = () => ({ Authorization: `Bearer ${token}` })
let customPipelineId: string
const customPopPipeline = () => customPipelineId
let server: Server | undefined

/** The emulator on a real socket (for a streamed response read while another request is sent). */
async function listen(): Promise<string> {
  server ??= createServer(emulator.handler)
  if (!server.listening) await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

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

  describe('an image group (upload_group, uploadGroup, load_from_group)', () => {
    it('answers a multipart upload of several file parts with each image its predictions, in order', async () => {
      const res = await request(emulator.app)
        .post(`/worker/pipelines/${pipelineId}/source?mode=queue&processing=sync`)
        .set(auth())
        // As the Python SDK sends it: a params part, then a file part per image (each named "blob").
        .attach('params', Buffer.from('[]'), { filename: 'blob', contentType: 'application/json' })
        .attach('file', PNG, { filename: 'blob', contentType: 'image/png' })
        .attach('file', PNG, { filename: 'blob', contentType: 'image/png' })
        .attach('file', Buffer.from([0xff, 0xd8, 0xff]), { filename: 'blob', contentType: 'image/jpeg' })
        .expect(200)
      const results = lines(res.text)
      expect(results).toHaveLength(3)
      for (const result of results) expect(result).toEqual({ ...DEFAULT_PREDICTION, source_id: results[0]!.source_id })
    })

    it('counts file parts without a filename too (the Node SDK sends its group so)', async () => {
      const boundary = 'group-boundary'
      const part = (body: string) => `--${boundary}\r\nContent-Disposition: form-data; name="file"\r\nContent-Type: image/png\r\n\r\n${body}\r\n`
      const res = await request(emulator.app)
        .post(`/worker/pipelines/${pipelineId}/source?mode=queue&processing=sync`)
        .set(auth())
        .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
        .send(`${part('one')}${part('two')}--${boundary}--\r\n`)
        .expect(200)
      expect(lines(res.text)).toHaveLength(2)
    })

    it('answers a GROUP of URLs with each URL its predictions, without fetching them', async () => {
      const res = await request(emulator.app)
        .patch(`/worker/pipelines/${customPopPipeline()}/source?mode=queue&processing=sync`)
        .set(auth())
        .send({ sourceType: 'GROUP', sources: [{ sourceType: 'URL', url: 'https://images.invalid/a.jpg' }, { sourceType: 'URL', url: 'https://images.invalid/b.jpg' }] })
        .expect(200)
      expect(lines(res.text).map(({ source_id: _id, ...rest }) => rest)).toEqual([...custom, ...custom])
    })

    it('refuses an empty group, a member that is not a URL, a multipart form without a file part, and a malformed one, with 400', async () => {
      const url = `/worker/pipelines/${pipelineId}/source`
      for (const sources of [[], [{ sourceType: 'URL', url: 'ftp://x' }], [{ sourceType: 'ASSET_UUID', assetUuid: 'a' }], 'nope']) {
        const res = await request(emulator.app).patch(url).set(auth()).send({ sourceType: 'GROUP', sources })
        expect(res.status, JSON.stringify(sources)).toBe(400)
        expect(res.body.error).toBe('invalid_request')
      }
      const noFile = await request(emulator.app).post(url).set(auth()).attach('params', Buffer.from('[]'), { filename: 'blob', contentType: 'application/json' })
      expect(noFile.status).toBe(400)
      expect(noFile.body.error_description).toBe('a multipart upload must have a part named "file"')
      const malformed = await request(emulator.app).post(url).set(auth()).set('Content-Type', 'multipart/form-data; boundary=x').send('--x\r\nnot a part')
      expect(malformed.status).toBe(400)
      expect(malformed.body.error).toBe('invalid_request')
      const noBoundary = await request(emulator.app).post(url).set(auth()).set('Content-Type', 'multipart/form-data').send('whatever')
      expect(noBoundary.status).toBe(400)
    })
  })

  describe('a prepared source (a video streamed by an SDK without full-duplex HTTP)', () => {
    it('sends the source id at once, then the predictions once the upload with that id has arrived (204)', async () => {
      const base = new URL(await listen())
      const prepared = await fetch(new URL(`/worker/pipelines/${pipelineId}/prepareSource?timeout=10s`, base), { method: 'POST', headers: auth() })
      expect(prepared.status).toBe(200)
      const reader = prepared.body!.pipeThrough(new TextDecoderStream()).getReader()
      const first = JSON.parse((await reader.read()).value!.split('\n')[0]!) as { event: { type: string; source_id: string } }
      expect(first.event).toEqual({ type: 'prepared', source_id: expect.any(String) })
      const upload = await fetch(
        new URL(`/worker/pipelines/${pipelineId}/source?mode=queue&processing=async&sourceId=${first.event.source_id}`, base),
        { method: 'POST', headers: { ...auth(), 'Content-Type': 'video/mp4' }, body: Buffer.alloc(2048, 1) },
      )
      expect(upload.status).toBe(204)
      let rest = ''
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += chunk.value
      expect(lines(rest)).toEqual([{ ...DEFAULT_PREDICTION, source_id: first.event.source_id }])
    })

    it('ends the stream with an error event when no upload arrives within the timeout', async () => {
      const res = await request(emulator.app).post(`/worker/pipelines/${pipelineId}/prepareSource?timeout=50ms`).set(auth()).expect(200)
      const [prepared, failed] = lines(res.text) as Array<{ event: { type: string; source_id: string; message?: string } }>
      expect(prepared!.event.type).toBe('prepared')
      expect(failed!.event).toEqual({ type: 'error', source_id: prepared!.event.source_id, message: expect.stringContaining('no upload arrived') })
    })

    it('refuses an upload for a source id that is unknown or of another pipeline, and a bad timeout, with 400', async () => {
      const url = `/worker/pipelines/${pipelineId}/source?processing=async&sourceId=00000000-0000-4000-8000-000000000000`
      const unknown = await request(emulator.app).post(url).set(auth()).set('Content-Type', 'video/mp4').send(Buffer.alloc(16))
      expect(unknown.status).toBe(400)
      expect(unknown.body.error).toBe('invalid_request')
      const badTimeout = await request(emulator.app).post(`/worker/pipelines/${pipelineId}/prepareSource?timeout=forever`).set(auth())
      expect(badTimeout.status).toBe(400)
    })
  })

  it('refuses a live WebRTC source (WHIP) with 400, naming what the emulator does not emulate', async () => {
    const res = await request(emulator.app).patch(`/worker/pipelines/${pipelineId}/source?mode=preempt&processing=sync`).set(auth()).send({ sourceType: 'WHIP', whipIngressId: 'x' })
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('does not emulate live WebRTC'), message: expect.stringContaining('WHIP') })
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
