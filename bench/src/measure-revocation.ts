/**
 * Scenario 8: revocation under load. While a load runs on the emulator's Pop route (with tokens
 * of other keys), a probe calls the same route, and the resource server's, with a token of one
 * key; then `eyepop-emulator keys delete` (the CLI, its own process) deletes that key, and the
 * time to the first 401 is taken from the CLI's start and from its exit (the deletion is
 * committed before it exits).
 *
 * @module
 */
import { Agent } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { httpJson, httpRequest } from './http-request.js'
import { EMULATOR_CLI, serverEnv } from './launch.js'
import type { LoadSpec } from './load-plan.js'
import { runLoad } from './run-load.js'
import type { ServerProcess } from './spawn-server.js'
import { runNodeScript } from './spawn-server.js'

/** What a probe saw in one trial. */
export interface ProbeResult {
  /** Milliseconds from the CLI's start to the first 401 (`NaN`: none within 10 s). */
  fromCommandMs: number
  /** Milliseconds from the CLI's exit to the first 401 (negative: before the CLI exited). */
  fromCommandExitMs: number
  /** Answers before the deletion (all must be 200). */
  okBefore: number
  /** Answers other than 200 before the deletion, or other than 200/401 after (should be 0). */
  unexpected: number
}

/** One deletion. */
export interface RevocationTrial {
  keyId: string
  /** How long `keys delete` ran (in milliseconds). */
  commandMs: number
  emulator: ProbeResult
  /** The resource server, which learns deletions from the emulator's revocation feed. */
  resource?: ProbeResult
  /** The background load on the emulator. */
  load: { rps: number; non2xx: number }
}

/** What scenario 8 measured. */
export interface RevocationResult {
  trials: RevocationTrial[]
}

/** Options of {@link measureRevocation}. */
export interface MeasureRevocationOptions {
  trials: number
  emulator: ServerProcess
  resource?: ServerProcess
  dataDir: string
  popId: string
  /** Keys reserved for deletion (never used by the load). */
  keys: Array<{ id: string; key: string }>
  /** The reused tokens of the background load. */
  tokensFile: string
  durationSeconds: number
  connections: number
  workDir: string
  log: (line: string) => void
}

interface Probe {
  readonly firstOk: Promise<void>
  readonly done: Promise<{ first401At: number; okBefore: number; unexpected: number }>
  stop(): void
}

/** Calls a protected URL in a loop, one request at a time, until its first 401. */
function startProbe(url: string, token: string, deletedAfter: () => number | undefined): Probe {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  let stopped = false
  let resolveOk!: () => void
  const firstOk = new Promise<void>((resolve) => (resolveOk = resolve))
  const done = (async () => {
    let okBefore = 0
    let unexpected = 0
    let first401At = NaN
    const giveUpAt = () => (deletedAfter() ?? Infinity) + 10_000
    while (!stopped && performance.now() < giveUpAt()) {
      const { status } = await httpRequest(url, { headers: { Authorization: `Bearer ${token}` }, agent })
      const at = performance.now()
      const deletedAt = deletedAfter()
      if (status === 200) {
        if (deletedAt === undefined) okBefore++
        resolveOk()
      } else if (status === 401 && deletedAt !== undefined) {
        first401At = at
        break
      } else {
        unexpected++
        await sleep(10)
      }
    }
    agent.destroy()
    return { first401At, okBefore, unexpected }
  })()
  return {
    firstOk,
    done,
    stop() {
      stopped = true
    },
  }
}

async function deleteKey(dataDir: string, keyId: string): Promise<{ startedAt: number; exitedAt: number }> {
  const startedAt = performance.now()
  await runNodeScript([EMULATOR_CLI, 'keys', 'delete', keyId, '--data-dir', dataDir, '--json'], `keys delete ${keyId}`, serverEnv())
  return { startedAt, exitedAt: performance.now() }
}

/** Measures revocation under load (see the module comment). */
export async function measureRevocation(options: MeasureRevocationOptions): Promise<RevocationResult> {
  const trials: RevocationTrial[] = []
  const popPath = `/pops/${options.popId}/config`
  for (let t = 0; t < options.trials; t++) {
    const victim = options.keys[t]
    if (!victim) break
    const { access_token: token } = await httpJson<{ access_token: string }>(`${options.emulator.url}/v1/auth/authenticate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${victim.key}` },
    })
    const spec: LoadSpec = {
      url: options.emulator.url,
      connections: options.connections,
      durationSeconds: Math.max(3, options.durationSeconds),
      method: 'GET',
      path: popPath,
      headers: { Authorization: 'Bearer {{value}}' },
      valuesFile: options.tokensFile,
    }
    let loadStarted!: () => void
    const started = new Promise<void>((resolve) => (loadStarted = resolve))
    const loadRun = runLoad({ spec, serverPid: options.emulator.pid, workDir: options.workDir, onStart: () => loadStarted() })
    await started
    await sleep(500)
    let deleted: { startedAt: number; exitedAt: number } | undefined
    let deleteStartedAt: number | undefined
    const deletedAfter = () => deleteStartedAt
    const probes = [startProbe(`${options.emulator.url}${popPath}`, token, deletedAfter)]
    if (options.resource) probes.push(startProbe(`${options.resource.url}${popPath}`, token, deletedAfter))
    try {
      await Promise.all(probes.map((p) => p.firstOk))
      deleteStartedAt = performance.now()
      deleted = await deleteKey(options.dataDir, victim.id)
      const seen = await Promise.all(probes.map((p) => p.done))
      const load = await loadRun
      const toResult = (s: (typeof seen)[number]): ProbeResult => ({
        fromCommandMs: s.first401At - deleted!.startedAt,
        fromCommandExitMs: s.first401At - deleted!.exitedAt,
        okBefore: s.okBefore,
        unexpected: s.unexpected,
      })
      const trial: RevocationTrial = {
        keyId: victim.id,
        commandMs: deleted.exitedAt - deleted.startedAt,
        emulator: toResult(seen[0]!),
        ...(seen[1] && { resource: toResult(seen[1]) }),
        load: { rps: load.rps, non2xx: load.non2xx },
      }
      trials.push(trial)
      options.log(
        `  revocation trial ${t + 1}/${options.trials}: keys delete ran ${trial.commandMs.toFixed(0)} ms; first 401 ${trial.emulator.fromCommandMs.toFixed(0)} ms after the command started on the emulator` +
          (trial.resource ? `, ${trial.resource.fromCommandMs.toFixed(0)} ms on the resource server` : ''),
      )
    } finally {
      for (const p of probes) p.stop()
      await loadRun.catch(() => undefined)
    }
  }
  return { trials }
}
