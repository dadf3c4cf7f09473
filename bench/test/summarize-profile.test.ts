/**
 * The profile summary: self time by function and by package, with bundled code (the emulator's
 * command runs from one bundle) put back on the package it came from through the bundle's source map.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { summarizeProfile } from '../src/summarize-profile.js'

interface Frame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}

/** A profile whose samples fall on the given frames, `ms` milliseconds each. */
function profileOf(frames: Array<{ frame: Frame; ms: number }>): object {
  const nodes = [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: frames.map((_, i) => i + 2) },
    ...frames.map(({ frame }, i) => ({ id: i + 2, callFrame: frame })),
  ]
  const samples: number[] = []
  const timeDeltas: number[] = []
  frames.forEach(({ ms }, i) => {
    for (let n = 0; n < ms; n++) {
      samples.push(i + 2)
      timeDeltas.push(1000)
    }
  })
  return { nodes, startTime: 0, endTime: samples.length * 1000, samples, timeDeltas }
}

describe('summarizeProfile()', () => {
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eyepop-bench-profile-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('puts self time of bundled code on the package its source map names', () => {
    // A bundle of two lines: line 0 from auth-core, line 1 from the emulator (mappings "AAAA;ACAA":
    // line 0 column 0 → source 0 line 0; line 1 column 0 → source 1 line 0).
    const bundleDir = join(dir, 'apps', 'emulator', 'dist', 'bin')
    const bundle = join(bundleDir, 'chunk.js')
    mkdirSync(bundleDir, { recursive: true })
    writeFileSync(bundle, 'verify();\nroute();\n//# sourceMappingURL=chunk.js.map\n')
    writeFileSync(
      `${bundle}.map`,
      JSON.stringify({
        version: 3,
        sources: ['../../../../packages/auth-core/dist/token/verify.js', '../routes/pops.js'],
        names: [],
        mappings: 'AAAA;ACAA',
      }),
    )
    const url = pathToFileURL(bundle).href
    const file = join(dir, 'run.cpuprofile')
    writeFileSync(
      file,
      JSON.stringify(
        profileOf([
          { frame: { functionName: 'verify', url, lineNumber: 0, columnNumber: 0 }, ms: 30 },
          { frame: { functionName: 'route', url, lineNumber: 1, columnNumber: 0 }, ms: 10 },
          { frame: { functionName: 'writev', url: '', lineNumber: -1, columnNumber: -1 }, ms: 60 },
        ]),
      ),
    )
    const summary = summarizeProfile(file)
    expect(summary.busyMs).toBe(100)
    const share = (name: string) => summary.packages.find((p) => p.name === name)?.share
    expect(share('@eyepop/auth-core')).toBeCloseTo(0.3)
    expect(share('@eyepop/emulator')).toBeCloseTo(0.1)
    expect(summary.functions.map((f) => f.name)).toContain('verify @eyepop/auth-core/dist/token/verify.js:1')
  })

  it('leaves code without a source map where it ran', () => {
    const file = join(dir, 'run.cpuprofile')
    const url = pathToFileURL(join(dir, 'node_modules', 'express', 'lib', 'router.js')).href
    writeFileSync(file, JSON.stringify(profileOf([{ frame: { functionName: 'handle', url, lineNumber: 9, columnNumber: 4 }, ms: 5 }])))
    const summary = summarizeProfile(file)
    expect(summary.packages).toEqual([{ name: 'express', selfMs: 5, share: 1 }])
    expect(summary.functions[0]!.name).toBe('handle express/lib/router.js:10')
  })

  it("maps the emulator command's own bundle back to auth-core and the emulator", () => {
    const bin = fileURLToPath(new URL('./bin/', import.meta.resolve('@eyepop/emulator')))
    const sources = readdirSync(bin)
      .filter((f) => f.endsWith('.js.map'))
      .flatMap((f) => (JSON.parse(readFileSync(join(bin, f), 'utf8')) as { sources: string[] }).sources)
      .map((source) => resolve(bin, source))
    expect(sources.filter((s) => s.includes('/packages/auth-core/src/')).length).toBeGreaterThan(5)
    expect(sources.filter((s) => s.includes('/apps/emulator/src/')).length).toBeGreaterThan(5)
  })
})

