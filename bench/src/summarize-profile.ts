/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and self
 * time per package, as a share of the busy (not idle) time.
 *
 * @module
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
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

/** Summarizes a `.cpuprofile` file. */
export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000))
  const byFunction = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let idleMs = 0
  let busyMs = 0
  for (const node of profile.nodes) {
    const time = self.get(node.id) ?? 0
    if (time === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
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
