/**
 * The load generator's process (`load-worker.ts`, through `runLoad`) against a real `node:http`
 * server: the recorded run starts after the warm-up, and only its requests are counted.
 */
import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The built module, typed as its source: it starts the built worker next to it (`npm test` builds first).
const { runAlternating, runLoad } = (await import('../dist/run-load.js' as string)) as typeof import('../src/run-load.js')
const { sliceOrder } = await import('../src/load-plan.js')

describe('runLoad()', () => {
  let dir: string
  let server: Server
  let url: string
  /** Requests the server answered, with the time each arrived. */
  const seen: Array<{ at: number; key: string | undefined }> = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eyepop-bench-load-'))
    server = createServer((req, res) => {
      seen.push({ at: performance.now(), key: req.headers['x-key'] as string | undefined })
      res.setHeader('Content-Type', 'application/json')
      res.end('{"ok":true}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('runs the warm-up first, unrecorded, then the recorded run, with values in turn across both', async () => {
    seen.length = 0
    const valuesFile = join(dir, 'values.json')
    writeFileSync(valuesFile, JSON.stringify(['a', 'b', 'c']))
    let startedAt = NaN
    const run = await runLoad({
      spec: {
        url,
        connections: 1,
        durationSeconds: 1,
        warmupSeconds: 1,
        method: 'GET',
        path: '/',
        headers: { 'x-key': '{{value}}' },
        valuesFile,
      },
      serverPid: process.pid,
      workDir: dir,
      onStart: () => (startedAt = performance.now()),
    })
    const before = seen.filter((r) => r.at < startedAt).length
    expect(before).toBeGreaterThan(0)
    expect(run.ok).toBeGreaterThan(0)
    expect(run.non2xx + run.errors + run.timeouts).toBe(0)
    // The recorded figures count only the requests after the start (allow the ones in flight).
    expect(run.requests).toBeLessThanOrEqual(seen.length - before + 1)
    expect(run.requests).toBeGreaterThanOrEqual(seen.length - before - 1)
    // One counter for both: the keys go a, b, c, a, … without restarting at the recorded run.
    const keys = seen.map((r) => r.key)
    expect(keys.slice(0, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
    expect(keys.every((k, i) => k === ['a', 'b', 'c'][i % 3])).toBe(true)
  })

  it('starts the recorded run at once without a warm-up', async () => {
    seen.length = 0
    let startedAt = NaN
    const run = await runLoad({
      spec: { url, connections: 1, durationSeconds: 1, method: 'GET', path: '/' },
      serverPid: process.pid,
      workDir: dir,
      onStart: () => (startedAt = performance.now()),
    })
    // A warm-up would send a second's worth of requests before the run starts (hundreds on one
    // connection); without one, only the requests already in flight while the worker's start
    // message crosses to this thread (one or two, a few on a busy machine) come before it.
    const before = seen.filter((r) => r.at < startedAt).length
    expect(run.ok).toBeGreaterThan(0)
    expect(before).toBeLessThanOrEqual(Math.max(5, run.ok / 50))
  })

  it('runs two loads in alternating slices, A B B A, each slice counted to its own side', async () => {
    seen.length = 0
    const [a, b] = await runAlternating({
      sides: [
        { spec: { url, connections: 1, durationSeconds: 1, method: 'GET', path: '/', headers: { 'x-key': 'A' } }, serverPid: process.pid },
        { spec: { url, connections: 1, durationSeconds: 1, method: 'GET', path: '/', headers: { 'x-key': 'B' } }, serverPid: process.pid },
      ],
      slices: 2,
      workDir: dir,
    })
    // The requests the server saw, run-length encoded by side: A, B, A (the two B slices are adjacent).
    const runs = seen.map((r) => r.key).filter((k, i, all) => i === 0 || k !== all[i - 1])
    expect(runs).toEqual(['A', 'B', 'A'])
    for (const [side, run] of [['A', a!], ['B', b!]] as const) {
      expect(run.sliceRps).toHaveLength(2)
      // Two slices of 0.5 s: their recorded time, not whole seconds each (a loaded machine stretches them).
      expect(run.durationSeconds).toBeGreaterThanOrEqual(0.9)
      expect(run.durationSeconds).toBeLessThan(4)
      const served = seen.filter((r) => r.key === side).length
      expect(run.requests).toBeGreaterThanOrEqual(served - 2)
      expect(run.requests).toBeLessThanOrEqual(served)
      expect(run.non2xx + run.errors + run.timeouts).toBe(0)
    }
  })
})

describe('runLoad() against two instances', () => {
  let dir: string
  const servers: Server[] = []
  const urls: string[] = []
  /** The value each request carried, by server. */
  const seen: string[][] = [[], []]

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eyepop-bench-load-'))
    for (const i of [0, 1]) {
      const server = createServer((req, res) => {
        seen[i]!.push(req.headers['x-key'] as string)
        res.end('{}')
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      servers.push(server)
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    }
  })

  afterAll(async () => {
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('splits the connections between them, takes the values in turn across both and counts their answers together', async () => {
    const valuesFile = join(dir, 'values.json')
    writeFileSync(valuesFile, JSON.stringify(['a', 'b', 'c', 'd']))
    const reads: number[] = []
    const run = await runLoad({
      spec: { url: urls, connections: 2, durationSeconds: 1, method: 'GET', path: '/', headers: { 'x-key': '{{value}}' }, valuesFile },
      // A meter of two parts, each read at the run's start and stop.
      cpu: () => {
        reads.push(reads.length)
        return { one: reads.length, two: 10 * reads.length }
      },
      workDir: dir,
    })
    const served = seen[0]!.length + seen[1]!.length
    expect(seen[0]!.length).toBeGreaterThan(0)
    expect(seen[1]!.length).toBeGreaterThan(0)
    expect(run.requests).toBeGreaterThanOrEqual(served - 2)
    expect(run.requests).toBeLessThanOrEqual(served)
    expect(run.non2xx + run.errors + run.timeouts).toBe(0)
    // One counter for both: every value about as often as the others.
    const counts = ['a', 'b', 'c', 'd'].map((v) => [...seen[0]!, ...seen[1]!].filter((k) => k === v).length)
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(2)
    expect(run.cpuSecondsByPart).toEqual({ one: 1, two: 10 })
    expect(run.serverCpuSeconds).toBe(11)
  })
})

describe('sliceOrder()', () => {
  it('gives each of two sides the same number of slices, A B B A A B B A …', () => {
    expect(sliceOrder(2, 1)).toEqual([0, 1])
    expect(sliceOrder(2, 5)).toEqual([0, 1, 1, 0, 0, 1, 1, 0, 0, 1])
    expect(sliceOrder(1, 3)).toEqual([0, 0, 0])
  })

  it('goes through three sides and back, A B C C B A A B C …', () => {
    expect(sliceOrder(3, 3)).toEqual([0, 1, 2, 2, 1, 0, 0, 1, 2])
    expect(() => sliceOrder(0, 1)).toThrow(RangeError)
  })
})
