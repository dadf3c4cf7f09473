/**
 * The CPU time of a process tree (`readProcessTreeCpuSeconds`), which the PostgreSQL benchmark
 * reads of the server's postmaster: a child that ran and exited between two readings is counted.
 */
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { readCpuSeconds, readParentPid, readProcessTreeCpuSeconds } from '../src/proc-stat.js'

/** Runs a child that spins for `ms` of CPU time and resolves once it has exited (and been reaped). */
function spinChild(ms: number): Promise<void> {
  const script = `const end = process.cpuUsage().user + ${ms * 1000}; while (process.cpuUsage().user < end);`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' })
    child.once('error', reject)
    child.once('exit', () => resolve())
  })
}

describe('readProcessTreeCpuSeconds()', () => {
  it('counts the CPU time of a child that ran and exited between two readings', async () => {
    const treeBefore = readProcessTreeCpuSeconds(process.pid)
    const ownBefore = readCpuSeconds(process.pid)
    await spinChild(300)
    const tree = readProcessTreeCpuSeconds(process.pid) - treeBefore
    const own = readCpuSeconds(process.pid) - ownBefore
    expect(tree - own).toBeGreaterThanOrEqual(0.25)
  })

  it('counts a running child', async () => {
    // It spins for 300 ms of CPU time, says so, then sleeps until it is killed.
    const script = 'const end = process.cpuUsage().user + 300000; while (process.cpuUsage().user < end); console.log("spun"); setInterval(() => {}, 1000)'
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve))
      expect(readParentPid(child.pid!)).toBe(process.pid)
      expect(readProcessTreeCpuSeconds(process.pid) - readCpuSeconds(process.pid)).toBeGreaterThanOrEqual(0.25)
    } finally {
      child.kill()
    }
  })
})
