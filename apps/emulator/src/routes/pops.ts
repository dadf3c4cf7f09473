import {
  assertPopAccess,
  createAuthenticator,
  type AccessPrincipal,
  type AccessTokenVerifier,
} from '@eyepop/auth-core'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendEmpty, sendJson, sendText } from '../http/error-handler.js'
import { AccessDenied, InvalidRequest, NotFoundError, OAuthError } from '../http/errors.js'
import { queryOf } from '../http/query.js'
import { defineRoute, type Route, type RouteParams } from '../http/route-table.js'
import { MAX_UPLOAD_ITEMS } from '../http/upload.js'
import type { Pipeline, PipelineRegistry } from '../services/pipelines.js'
import type { PopService } from '../services/pops.js'
import type { PredictionCatalog } from '../services/predictions.js'

/** The scope the Pop routes need. */
export const INFERENCE_SCOPE = 'access:inference-api'

/** The path of the mock worker, given to the SDK as a relative `base_url`. */
export const WORKER_BASE_PATH = '/worker'

/**
 * `GET /pops/{popId}/config` (a CORS route): auth-core's authentication of the access token
 * (`access:inference-api`, a temporary key only on its own Pop), then the Pop's config
 * `{base_url, pipeline_id, name, status, endpoints}`. Another account's Pop gets 403, an unknown
 * one 404.
 */
export function popConfigRoute(deps: { verify: AccessTokenVerifier; pops: PopService; pipelines: PipelineRegistry }): Route {
  return defineRoute({
    method: 'GET',
    path: '/pops/:popId/config',
    cors: true,
    authorize: (req, params) => createAuthenticator({ verify: deps.verify, scopes: [INFERENCE_SCOPE], pop: () => params.popId! })(req),
    async handler(_req, res, { params, auth: caller }) {
      const popId = params.popId!
      const pop = await deps.pops.find(popId)
      if (!pop) throw new NotFoundError('pop not found')
      if (pop.accountId !== caller.accountId) {
        throw new AccessDenied('access token does not grant access to this pop')
      }
      const pipeline = deps.pipelines.forPop(pop.id, pop.accountId)
      sendJson(res, 200, {
        base_url: WORKER_BASE_PATH,
        pipeline_id: pipeline.id,
        name: pop.name,
        status: 'active_dev',
        endpoints: [{ base_url: WORKER_BASE_PATH, pipeline_id: pipeline.id }],
      })
    },
  })
}

/** The longest a prepared source waits for its upload (the Python SDK asks for 600 s). */
const MAX_PREPARE_TIMEOUT_MS = 600_000
/** The most prepared sources waiting for their upload at once, in all. */
const MAX_PREPARED_SOURCES = 256

/** A `timeout` such as `10s`, `600s`, `1m` or `500ms` (Go's duration syntax, whole units), in ms. */
function durationMs(value: unknown): number {
  const match = typeof value === 'string' ? /^(\d{1,7})(ms|s|m)$/.exec(value) : null
  if (!match) throw new InvalidRequest('timeout must be a duration such as 10s')
  const ms = Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 's' ? 1000 : 60_000)
  return Math.min(Math.max(ms, 1), MAX_PREPARE_TIMEOUT_MS)
}

/** `idleTimeoutSeconds` of a new pipeline (Node sends 30, Python 300), in ms; absent: the default. */
function idleTimeoutOf(body: Record<string, unknown>): number | undefined {
  const value = body.idleTimeoutSeconds
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 86_400) {
    throw new InvalidRequest('idleTimeoutSeconds must be an integer from 1 to 86400')
  }
  return value * 1000
}

/**
 * The URLs of a `PATCH …/source` body: one for `URL`, each member's for `GROUP` (an image group,
 * processed as one source: `load_from_group`, `loadFromGroup`).
 */
function urlsOf(body: Record<string, unknown>): string[] {
  const isUrl = (url: unknown): url is string => typeof url === 'string' && url.length <= 4096 && /^https?:\/\/[^\s]+$/i.test(url)
  if (body.sourceType === 'URL') {
    if (!isUrl(body.url)) throw new InvalidRequest('url must be an http or https URL')
    return [body.url]
  }
  const sources = body.sources
  if (!Array.isArray(sources) || sources.length === 0 || sources.length > MAX_UPLOAD_ITEMS) {
    throw new InvalidRequest(`a GROUP source must list 1 to ${MAX_UPLOAD_ITEMS} sources`)
  }
  return sources.map((member: unknown) => {
    const { sourceType, url } = (typeof member === 'object' && member !== null ? member : {}) as Record<string, unknown>
    if (sourceType !== 'URL' || !isUrl(url)) throw new InvalidRequest('each source of a GROUP must be {"sourceType": "URL", "url": "http(s)://…"}')
    return url
  })
}

/**
 * The Pop surface the EyePop SDKs call, behind auth-core's access-token verification:
 * - `GET /pops/{popId}/config` → `{base_url, pipeline_id, name, status, endpoints}`;
 * - `GET /workers/config` → `{base_url}` for transient workers;
 * - under `{base_url}` (also every compute session's `session_endpoint`): `POST /pipelines`
 *   (200 `{id}`), `GET /pipelines/{id}`, `PATCH /pipelines/{id}/source`, `PATCH /pipelines/{id}/pop`
 *   and `DELETE /pipelines/{id}` (204; a compute session whose pipeline it was ends with it);
 * - `process()`: `POST /pipelines/{id}/source` with an image or video, raw or as a multipart form
 *   (several `file` parts: an image group), or `PATCH …/source` with a `URL`, a `GROUP` of URLs
 *   (never fetched) or an `ASSET_UUID`, answered with the Pop's canned predictions as JSON lines,
 *   once per image of a group;
 * - a video streamed by an SDK without full-duplex HTTP: `POST /pipelines/{id}/prepareSource`
 *   answers `{"event": {"type": "prepared", "source_id": …}}` at once and holds the stream open
 *   until `POST …/source?processing=async&sourceId=…` brings the upload (204); the predictions then
 *   follow on the prepared stream. With no upload within `timeout` it ends with an error event.
 * - live WebRTC sources (`WHIP`) are refused with 400: the emulator does not emulate them.
 *
 * A token of another account gets 403; an unknown Pop or pipeline (or one stopped after its idle
 * time) gets 404. A temporary key only reaches its own Pop and its pipeline (403
 * `insufficient_scope` elsewhere, including transient workers). Browsers from allowed origins get
 * CORS answers, preflights included.
 *
 * `GET /pops/{popId}/config` is {@link popConfigRoute}, a hot route.
 */
export function popRoutes(deps: {
  verify: AccessTokenVerifier
  pipelines: PipelineRegistry
  maxBodyBytes: number
  maxUploadBytes: number
  predictions: PredictionCatalog
}): Route[] {
  const { pipelines } = deps
  const json = { kind: 'json', limit: deps.maxBodyBytes } as const
  /** A route that is not about one Pop: temporary keys are refused. */
  const noPop = createAuthenticator({ verify: deps.verify, scopes: [INFERENCE_SCOPE], pop: () => null })
  /** A worker route: the Pop is checked once the pipeline is found (see ownedPipeline). */
  const anyPop = createAuthenticator({ verify: deps.verify, scopes: [INFERENCE_SCOPE] })

  /** Prepared sources waiting for their upload, by source id. */
  const prepared = new Map<string, { pipelineId: string; res: ServerResponse; timer: NodeJS.Timeout }>()

  function ownedPipeline(pipelineId: string, auth: AccessPrincipal): Pipeline {
    const pipeline = pipelines.get(pipelineId, true)
    if (!pipeline) throw new NotFoundError('pipeline not found')
    if (pipeline.accountId !== auth.accountId) {
      throw new AccessDenied('access token does not grant access to this pipeline')
    }
    assertPopAccess(auth.claims, pipeline.popId)
    return pipeline
  }

  /**
   * The caller of an upload, once its pipeline is found and the prepared source it names
   * (`sourceId`), if any, is still waiting on that pipeline.
   */
  async function uploadTarget(req: IncomingMessage, params: RouteParams): Promise<{ auth: AccessPrincipal; sourceId: string | undefined }> {
    const auth = await anyPop(req)
    const sourceId = queryOf(req).sourceId
    const found = ownedPipeline(params.pipelineId!, auth)
    if (sourceId !== undefined && (typeof sourceId !== 'string' || prepared.get(sourceId)?.pipelineId !== found.id)) {
      throw new InvalidRequest('sourceId must name a source prepared on this pipeline that is still waiting for its upload')
    }
    return { auth, sourceId }
  }

  /** The Pop's canned predictions for `items` images (a group gives each image's), as JSON lines. */
  function predictionLines(pipeline: Pipeline, sourceId: string, items: number): string {
    const one = deps.predictions.forPop(pipeline.popId).map((prediction) => JSON.stringify({ ...prediction, source_id: sourceId }))
    return `${Array.from({ length: items }, () => one.join('\n')).join('\n')}\n`
  }

  function sendPredictions(res: ServerResponse, pipeline: Pipeline, items = 1): void {
    sendText(res, 200, 'application/jsonl', predictionLines(pipeline, randomUUID(), items))
  }

  const worker = `${WORKER_BASE_PATH}/pipelines`
  return [
    defineRoute({
      method: 'GET',
      path: '/workers/config',
      cors: true,
      authorize: noPop,
      handler(_req, res) {
        sendJson(res, 200, { base_url: WORKER_BASE_PATH })
      },
    }),
    defineRoute({
      method: 'POST',
      path: worker,
      cors: true,
      authorize: noPop,
      body: json,
      handler(_req, res, { auth, body }) {
        const pipeline = pipelines.start(auth.accountId, {
          pop: body.pop ?? { components: [] },
          source: body.source ?? { sourceType: 'NONE' },
          idleTimeoutMs: idleTimeoutOf(body),
        })
        sendJson(res, 200, { id: pipeline.id })
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${worker}/:pipelineId`,
      cors: true,
      authorize: anyPop,
      handler(_req, res, { params, auth }) {
        const pipeline = ownedPipeline(params.pipelineId!, auth)
        sendJson(res, 200, {
          id: pipeline.id,
          pop: pipeline.pop,
          source: pipeline.source,
          popId: pipeline.popId,
          createdAt: new Date(pipeline.createdAt).toISOString(),
        })
      },
    }),
    // Sets the pipeline's source: NONE stops it (204); a URL, a group of URLs or an asset is
    // "processed" at once and answered with the Pop's canned predictions as JSON lines, as the SDKs'
    // process(), load_from() and load_from_group() read them.
    defineRoute({
      method: 'PATCH',
      path: `${worker}/:pipelineId/source`,
      cors: true,
      authorize: anyPop,
      body: json,
      handler(_req, res, { params, auth, body }) {
        const pipeline = ownedPipeline(params.pipelineId!, auth)
        switch (body.sourceType) {
          case 'NONE':
            pipeline.source = body
            sendEmpty(res, 204)
            return
          case 'URL':
          case 'GROUP':
            sendPredictions(res, pipeline, urlsOf(body).length)
            return
          case 'ASSET_UUID':
            if (typeof body.assetUuid !== 'string' || body.assetUuid === '') {
              throw new InvalidRequest('assetUuid must be a non-empty string')
            }
            sendPredictions(res, pipeline)
            return
          case 'WHIP':
            throw new InvalidRequest('the emulator does not emulate live WebRTC sources (WHIP); process a file, a stream or a URL')
          default:
            throw new InvalidRequest('sourceType must be NONE, URL, GROUP or ASSET_UUID')
        }
      },
    }),
    // A video that an SDK without full-duplex HTTP streams (section B): the source id at once, the
    // predictions once its upload (below, with `sourceId`) has arrived.
    defineRoute({
      method: 'POST',
      path: `${worker}/:pipelineId/prepareSource`,
      cors: true,
      authorize: anyPop,
      handler(req, res, { params, auth }) {
        const pipeline = ownedPipeline(params.pipelineId!, auth)
        const timeoutMs = durationMs(queryOf(req).timeout ?? '10s')
        if (prepared.size >= MAX_PREPARED_SOURCES) {
          throw new OAuthError(429, 'too_many_requests', `at most ${MAX_PREPARED_SOURCES} prepared sources may wait for their upload at once`)
        }
        const sourceId = randomUUID()
        res.statusCode = 200
        res.setHeader('Content-Type', 'application/jsonl')
        res.setHeader('Cache-Control', 'no-store')
        res.write(`${JSON.stringify({ event: { type: 'prepared', source_id: sourceId } })}\n`)
        const timer = setTimeout(() => {
          prepared.delete(sourceId)
          const message = `no upload arrived for this source within ${timeoutMs} ms`
          res.end(`${JSON.stringify({ event: { type: 'error', source_id: sourceId, message } })}\n`)
        }, timeoutMs)
        // An open stream keeps its socket (and so the server) alive; the timer need not.
        timer.unref()
        prepared.set(sourceId, { pipelineId: pipeline.id, res, timer })
        res.on('close', () => {
          clearTimeout(timer)
          prepared.delete(sourceId)
        })
      },
    }),
    // An uploaded image or video (raw or multipart): read, discarded, answered with predictions; for
    // a prepared source (`sourceId`), 204 here and the predictions on the prepared stream.
    defineRoute({
      method: 'POST',
      path: `${worker}/:pipelineId/source`,
      cors: true,
      // The pipeline and the prepared source are checked before the upload is read.
      authorize: uploadTarget,
      body: { kind: 'upload', limit: deps.maxUploadBytes },
      handler(_req, res, { params, auth: { auth, sourceId }, body: { items } }) {
        // Looked up again: the pipeline may have stopped while the upload was read.
        const pipeline = ownedPipeline(params.pipelineId!, auth)
        if (sourceId === undefined) {
          sendPredictions(res, pipeline, items)
          return
        }
        const waiting = prepared.get(sourceId)
        if (!waiting) throw new InvalidRequest('the prepared source stopped waiting for its upload')
        prepared.delete(sourceId)
        clearTimeout(waiting.timer)
        waiting.res.end(predictionLines(pipeline, sourceId, items))
        sendEmpty(res, 204)
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: `${worker}/:pipelineId/pop`,
      cors: true,
      authorize: anyPop,
      body: json,
      handler(_req, res, { params, auth, body }) {
        ownedPipeline(params.pipelineId!, auth).pop = body
        sendEmpty(res, 204)
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: `${worker}/:pipelineId`,
      cors: true,
      authorize: anyPop,
      handler(_req, res, { params, auth }) {
        pipelines.delete(ownedPipeline(params.pipelineId!, auth).id)
        sendEmpty(res, 204)
      },
    }),
  ]
}
