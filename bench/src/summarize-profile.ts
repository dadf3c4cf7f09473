/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and self
 * time per package, as a share of the busy (not idle) time.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** One line of the summary. */
export interface ProfileEntry {
  name: string
  /** Self time, in milliseconds. */
  selfMs: number
  /** Share of the busy time. */
  share: number
}

/** What {@link summarizeProfile} returns. */
export interface ProfileSummary {
  busyMs: number
  idleMs: number
  functions: ProfileEntry[]
  packages: ProfileEntry[]
}

function where(url: string): { file: string; pkg: string } {
  if (url === '') return { file: '', pkg: '(native/V8)' }
  if (url.startsWith('node:')) return { file: url, pkg: 'node core' }
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const rest = path.slice(modules + '/node_modules/'.length)
    const parts = rest.split('/')
    const pkg = parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
    return { file: rest, pkg }
  }
  for (const [marker, pkg] of [
    ['/apps/emulator/', '@eyepop/emulator'],
    ['/packages/auth-core/', '@eyepop/auth-core'],
    ['/bench/', '@eyepop/bench'],
  ] as const) {
    const at = path.indexOf(marker)
    if (at >= 0) return { file: `${pkg}/${path.slice(at + marker.length)}`, pkg }
  }
  return { file: path, pkg: 'other' }
}

/**
 * Maps a position in bundled code (the emulator's command, `dist/bin/`) back to the module it came
 * from, through the bundle's source map, so that self time lands on the right package. Code
 * without a source map keeps its own place.
 */
function createOriginalPosition(): (url: string, line: number, column: number) => { url: string; line: number } {
  const maps = new Map<string, SourceMap | null>()
  const mapOf = (url: string): SourceMap | null => {
    if (!maps.has(url)) {
      let map: SourceMap | null = null
      if (url.startsWith('file://') && url.endsWith('.js')) {
        const file = `${fileURLToPath(url)}.map`
        if (existsSync(file)) map = new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as ConstructorParameters<typeof SourceMap>[0])
      }
      maps.set(url, map)
    }
    return maps.get(url)!
  }
  return (url, line, column) => {
    const map = mapOf(url)
    const entry = map?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined
    if (!entry?.originalSource) return { url, line }
    const source = entry.originalSource.startsWith('file://')
      ? entry.originalSource
      : pathToFileURL(resolve(dirname(fileURLToPath(url)), entry.originalSource)).href
    return { url: source, line: entry.originalLine ?? line }
  }
}

/** Summarizes a `.cpuprofile` file. */
export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000))
  const byFunction = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let idleMs = 0
  let busyMs = 0
  const originalPosition = createOriginalPosition()
  for (const node of profile.nodes) {
    const time = self.get(node.id) ?? 0
    if (time === 0) continue
    const { functionName } = node.callFrame
    const { url, line: lineNumber } = originalPosition(node.callFrame.url, node.callFrame.lineNumber, node.callFrame.columnNumber ?? 0)
    if (functionName === '(idle)') {
      idleMs += time
      continue
    }
    busyMs += time
    const { file, pkg } = where(url)
    const name = file ? `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}` : functionName || '(anonymous)'
    byFunction.set(name, (byFunction.get(name) ?? 0) + time)
    const group = functionName.startsWith('(') && !url ? functionName : pkg
    byPackage.set(group, (byPackage.get(group) ?? 0) + time)
  }
  const entries = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, selfMs]) => ({ name, selfMs, share: busyMs > 0 ? selfMs / busyMs : 0 }))
  return { busyMs, idleMs, functions: entries(byFunction, top), packages: entries(byPackage, 15) }
}

/** The summary as text. */
export function formatProfileSummary(summary: ProfileSummary): string {
  const line = (e: ProfileEntry) => `${(e.share * 100).toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`
  return [
    `busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms`,
    '',
    'self time by package:',
    ...summary.packages.map(line),
    '',
    'self time by function:',
    ...summary.functions.map(line),
  ].join('\n')
}
