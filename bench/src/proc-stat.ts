/**
 * Reads a process's CPU time and memory from `/proc` (Linux). CPU time per request carries across
 * machines better than requests per second, and it is the server's own: the load generator runs
 * in another process.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

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

/** Fields 14-17 of `/proc/<pid>/stat`, in ticks: utime, stime, cutime, cstime; and field 4, the parent. */
function readStat(pid: number | string): { utime: number; stime: number; cutime: number; cstime: number; ppid: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]), cutime: Number(fields[13]), cstime: Number(fields[14]) }
}

/**
 * The CPU time (in seconds, user + system, every thread) a process has used so far, from
 * `/proc/<pid>/stat` fields 14 and 15.
 */
export function readCpuSeconds(pid: number): number {
  const { utime, stime } = readStat(pid)
  return (utime + stime) / CLOCK_TICKS_PER_SECOND
}

/**
 * The CPU time (in seconds) a process and its children have used so far: its own, that of its
 * children that exited (fields 16 and 17, added to the parent when it reaps them) and that of its
 * running children. The difference of two readings counts every child that ran between them, even
 * one that started or exited in between: a PostgreSQL server's postmaster, its backends (one per
 * connection) and its background processes.
 */
export function readProcessTreeCpuSeconds(pid: number): number {
  const root = readStat(pid)
  let ticks = root.utime + root.stime + root.cutime + root.cstime
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue
    try {
      const child = readStat(entry)
      if (child.ppid === pid) ticks += child.utime + child.stime + child.cutime + child.cstime
    } catch {
      // It exited while the folder was read: its time is now in the parent's fields 16 and 17.
    }
  }
  return ticks / CLOCK_TICKS_PER_SECOND
}

/** The parent of a process, from `/proc/<pid>/stat`. */
export function readParentPid(pid: number): number {
  return readStat(pid).ppid
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
