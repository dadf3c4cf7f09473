/**
 * Reads a process's CPU time and memory from `/proc` (Linux). CPU time per request carries across
 * machines better than requests per second, and it is the server's own: the load generator runs
 * in another process.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
}

/** `utime`/`stime` unit (`getconf CLK_TCK`; 100 on Linux, so a 10 ms resolution). */
export const CLOCK_TICKS_PER_SECOND = clockTicksPerSecond()

/**
 * The CPU time (in seconds, user + system, every thread) a process has used so far, from
 * `/proc/<pid>/stat` fields 14 and 15.
 */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return (utime + stime) / CLOCK_TICKS_PER_SECOND
}

/** Resident memory of a process, from `/proc/<pid>/status`. */
export interface MemoryUsage {
  /** Resident set size now (in MB). */
  rssMb: number
  /** Of it, anonymous memory (in MB): the V8 heap and native allocations (SQLite's page cache, buffers). */
  anonMb: number
  /** Of it, file-backed and shared memory (in MB): mapped files (the memory-mapped database, the program and its libraries) and the WAL index. */
  fileMb: number
  /** Peak resident set size (in MB). */
  peakRssMb: number
}

/** The resident memory (current and peak) of a process. */
export function readMemory(pid: number): MemoryUsage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return {
    rssMb: kb('VmRSS') / 1024,
    anonMb: kb('RssAnon') / 1024,
    fileMb: (kb('RssFile') + kb('RssShmem')) / 1024,
    peakRssMb: kb('VmHWM') / 1024,
  }
}
