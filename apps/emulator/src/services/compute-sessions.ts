import { randomUUID } from 'node:crypto'
import { OPTIONS } from '../config/options.js'
import { LimitExceeded } from './errors.js'
import type { Pipeline, PipelineRegistry } from './pipelines.js'

/** The most live compute sessions one account may hold at once, unless configured (`--max-sessions-per-account`). */
export const MAX_SESSIONS_PER_ACCOUNT = OPTIONS.maxSessionsPerAccount.default

/** A live compute session (the EyePop SDK 3.x): a worker endpoint and the pipeline it runs. */
export interface ComputeSession {
  readonly uuid: string
  readonly accountId: string
  /** Its pipeline on the mock worker; the session ends when the pipeline stops. */
  readonly pipelineId: string
  /** The name the client asked for, or `''`. */
  readonly name: string
  /** The pipeline version the client asked for, or `''`. */
  readonly pipelineVersion: string
  readonly createdAt: number
}

/** What a client asks for when it opens a session. */
export interface OpenSessionRequest {
  name: string
  pipelineVersion: string
  /** The pipeline definition (a transient Pop), or `null` for an empty one. */
  pop: unknown
  /** The account's Pop to run (its canned predictions), or `null`. */
  popId: string | null
}

/** Options of {@link createComputeSessions}. */
export interface ComputeSessionsOptions {
  /** The mock worker, where each session's pipeline runs. */
  pipelines: PipelineRegistry
  /** The most live sessions one account may hold. */
  maxPerAccount: number
  /** How long (ms) a session may go unused before it ends (its pipeline stops). */
  idleTimeoutMs: number
  /** How long (s) a session may go unused, as the 409 tells a client. */
  idleTimeoutSeconds: number
}

/** The compute sessions of every account, in memory (they do not outlive the process). */
export interface ComputeSessions {
  /**
   * Opens a session, running at once, with a pipeline of its own.
   *
   * @throws {LimitExceeded} when the account holds its limit of live sessions
   */
  open(accountId: string, request: OpenSessionRequest): ComputeSession
  /** The account's live sessions, oldest first. */
  list(accountId: string): ComputeSession[]
  /** A live session of the account; `touch` counts it as used now. */
  find(accountId: string, uuid: string, touch?: boolean): ComputeSession | undefined
  /** Ends a session and stops its pipeline; returns whether it was live. */
  end(accountId: string, uuid: string): boolean
  /** How many sessions are live, in all. */
  readonly size: number
}

/**
 * Creates the compute sessions. A session lives as long as its pipeline: it ends when a client
 * deletes it (`DELETE /v1/sessions/{uuid}`), when its pipeline is deleted (what both SDKs do on
 * `disconnect()`), or when neither has been used for `idleTimeoutMs`. So connecting any number
 * of times never locks an account out: the cap counts live sessions only.
 */
export function createComputeSessions(options: ComputeSessionsOptions): ComputeSessions {
  const { pipelines, maxPerAccount, idleTimeoutMs, idleTimeoutSeconds } = options
  const sessions = new Map<string, ComputeSession>()
  const byAccount = new Map<string, Set<string>>()

  pipelines.onStop(function endSessionOf(pipeline: Pipeline) {
    if (pipeline.sessionUuid === null) return
    const session = sessions.get(pipeline.sessionUuid)
    if (!session || session.pipelineId !== pipeline.id) return
    sessions.delete(session.uuid)
    const own = byAccount.get(session.accountId)
    own?.delete(session.uuid)
    if (own?.size === 0) byAccount.delete(session.accountId)
  })

  /** The session if it is still live: its pipeline is looked up, which ends an idle one. */
  function live(uuid: string, touch: boolean): ComputeSession | undefined {
    const session = sessions.get(uuid)
    if (!session) return undefined
    return pipelines.get(session.pipelineId, touch) ? sessions.get(uuid) : undefined
  }

  function list(accountId: string): ComputeSession[] {
    const own = [...(byAccount.get(accountId) ?? [])]
    return own.map((uuid) => live(uuid, false)).filter((s): s is ComputeSession => s !== undefined)
  }

  function find(accountId: string, uuid: string, touch = false): ComputeSession | undefined {
    const session = live(uuid, touch)
    return session?.accountId === accountId ? session : undefined
  }

  return {
    open(accountId, request) {
      if (list(accountId).length >= maxPerAccount) {
        throw new LimitExceeded(
          `this account has ${maxPerAccount} live compute sessions, its limit; end one with DELETE /v1/sessions/{uuid} ` +
            `or disconnect() a client that uses it (both SDKs then delete its pipeline), or leave one unused for ${idleTimeoutSeconds} s`,
        )
      }
      const uuid = randomUUID()
      const pipeline = pipelines.start(accountId, {
        pop: request.pop ?? { components: [] },
        popId: request.popId,
        sessionUuid: uuid,
        idleTimeoutMs,
      })
      const session: ComputeSession = {
        uuid,
        accountId,
        pipelineId: pipeline.id,
        name: request.name,
        pipelineVersion: request.pipelineVersion,
        createdAt: pipeline.createdAt,
      }
      sessions.set(uuid, session)
      let own = byAccount.get(accountId)
      if (!own) byAccount.set(accountId, (own = new Set()))
      own.add(uuid)
      return session
    },
    list,
    find,
    end(accountId, uuid) {
      const session = find(accountId, uuid)
      // Stopping the pipeline ends the session (see endSessionOf).
      return session !== undefined && pipelines.delete(session.pipelineId)
    },
    get size() {
      return sessions.size
    },
  }
}
