import {
  assertPopAccess,
  createAuthenticator,
  requireAccessToken,
  type AccessPrincipal,
  type AccessTokenVerifier,
} from '@eyepop/auth-core'
import { randomUUID } from 'node:crypto'
import { Router, type Request, type Response } from 'express'
import { popCors } from '../http/cors.js'
import { sendJson } from '../http/error-handler.js'
import type { FastRoute } from '../http/fast-routes.js'
import { AccessDenied, InvalidRequest, NotFoundError, OAuthError } from '../http/errors.js'
import { jsonObjectBody } from '../http/json-body.js'
import { MAX_UPLOAD_ITEMS, readUpload, type UploadSummary } from '../http/upload.js'
import type { Pipeline, PipelineRegistry } from '../services/pipelines.js'
import type { PopService } from '../services/pops.js'
import type { PredictionCatalog } from '../services/predictions.js'

/** The scope the Pop routes need. */
export const INFERENCE_SCOPE = 'access:inference-api'

/** The path of the mock worker, given to the SDK as a relative `base_url`. */
export const WORKER_BASE_PATH = '/worker'

function principal(req: Request): AccessPrincipal {
  return (req as Request & { auth: AccessPrincipal }).auth
}

/**
 * `GET /pops/{popId}/config` as a plain `node:http` handler (see `withFastRoutes`; CORS requests
 * reach it through Express): auth-core's `requireAccessToken`, then the Pop's config
 * `{base_url, pipeline_id, name, status, endpoints}`. Another account's Pop gets 403, an unknown
 * one 404.
 */
export function popConfigRoute(deps: { verify: AccessTokenVerifier; pops: PopService; pipelines: PipelineRegistry }): FastRoute {
  const authenticate = createAuthenticator<Request>({
    verify: deps.verify,
    scopes: [INFERENCE_SCOPE],
    pop: (req) => String(req.params.popId),
  })
  return {
    method: 'GET',
    path: '/pops/:popId/config',
    corsThroughExpress: true,
    async handle(req, res) {
      const request = req as Request
      const caller = await authenticate(request)
      const pop = await deps.pops.find(String(request.params.popId))
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
  }
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
 * `GET /pops/{popId}/config` is {@link popConfigRoute}, mounted with the other hot routes after
 * these (this router's CORS handling covers it).
 */
export function popRoutes(deps: {
  verify: AccessTokenVerifier
  pipelines: PipelineRegistry
  maxBodyBytes: number
  maxUploadBytes: number
  corsOrigins: readonly string[]
  predictions: PredictionCatalog
}): Router {
  const router = Router()
  const { pipelines } = deps
  const jsonBody = jsonObjectBody(deps.maxBodyBytes)
  const requireToken = (pop?: (req: Request) => string | null) =>
    requireAccessToken<Request>({ verify: deps.verify, scopes: [INFERENCE_SCOPE], ...(pop && { pop }) })
  // Checks the Pop of a worker route after the pipeline is found (see ownedPipeline).
  const anyPop = requireToken()

  router.use(['/pops', '/workers', WORKER_BASE_PATH], popCors(deps.corsOrigins))

  /** Prepared sources waiting for their upload, by source id. */
  const prepared = new Map<string, { pipelineId: string; res: Response; timer: NodeJS.Timeout }>()

  function ownedPipeline(req: Request): Pipeline {
    const pipeline = pipelines.get(String(req.params.pipelineId), true)
    if (!pipeline) throw new NotFoundError('pipeline not found')
    const auth = principal(req)
    if (pipeline.accountId !== auth.accountId) {
      throw new AccessDenied('access token does not grant access to this pipeline')
    }
    assertPopAccess(auth.claims, pipeline.popId)
    return pipeline
  }

  router.get('/workers/config', requireToken(() => null), function workersConfig(_req, res) {
    sendJson(res, 200, { base_url: WORKER_BASE_PATH })
  })

  router.post(`${WORKER_BASE_PATH}/pipelines`, requireToken(() => null), ...jsonBody, function startPipeline(req, res) {
    const body = req.body as Record<string, unknown>
    const pipeline = pipelines.start(principal(req).accountId, {
      pop: body.pop ?? { components: [] },
      source: body.source ?? { sourceType: 'NONE' },
      idleTimeoutMs: idleTimeoutOf(body),
    })
    res.json({ id: pipeline.id })
  })

  router.get(`${WORKER_BASE_PATH}/pipelines/:pipelineId`, anyPop, function getPipeline(req, res) {
    const pipeline = ownedPipeline(req)
    res.json({
      id: pipeline.id,
      pop: pipeline.pop,
      source: pipeline.source,
      popId: pipeline.popId,
      createdAt: new Date(pipeline.createdAt).toISOString(),
    })
  })

  /** The Pop's canned predictions for `items` images (a group gives each image's), as JSON lines. */
  function predictionLines(pipeline: Pipeline, sourceId: string, items: number): string {
    const one = deps.predictions.forPop(pipeline.popId).map((prediction) => JSON.stringify({ ...prediction, source_id: sourceId }))
    return `${Array.from({ length: items }, () => one.join('\n')).join('\n')}\n`
  }

  function sendPredictions(res: Response, pipeline: Pipeline, items = 1): void {
    res.status(200).type('application/jsonl').send(predictionLines(pipeline, randomUUID(), items))
  }

  // Sets the pipeline's source: NONE stops it (204); a URL, a group of URLs or an asset is
  // "processed" at once and answered with the Pop's canned predictions as JSON lines, as the SDKs'
  // process(), load_from() and load_from_group() read them.
  router.patch(
    `${WORKER_BASE_PATH}/pipelines/:pipelineId/source`,
    anyPop,
    ...jsonBody,
    function setSource(req, res) {
      const pipeline = ownedPipeline(req)
      const body = req.body as Record<string, unknown>
      switch (body.sourceType) {
        case 'NONE':
          pipeline.source = body
          res.status(204).end()
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
  )

  // A video that an SDK without full-duplex HTTP streams (section B): the source id at once, the
  // predictions once its upload (below, with `sourceId`) has arrived.
  router.post(`${WORKER_BASE_PATH}/pipelines/:pipelineId/prepareSource`, anyPop, function prepareSource(req, res) {
    const pipeline = ownedPipeline(req)
    const timeoutMs = durationMs(req.query.timeout ?? '10s')
    if (prepared.size >= MAX_PREPARED_SOURCES) {
      throw new OAuthError(429, 'too_many_requests', `at most ${MAX_PREPARED_SOURCES} prepared sources may wait for their upload at once`)
    }
    const sourceId = randomUUID()
    res.status(200).type('application/jsonl')
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
  })

  // An uploaded image or video (raw or multipart): read, discarded, answered with predictions; for
  // a prepared source (`sourceId`), 204 here and the predictions on the prepared stream.
  router.post(
    `${WORKER_BASE_PATH}/pipelines/:pipelineId/source`,
    anyPop,
    function findPipeline(req, _res, next) {
      const pipeline = ownedPipeline(req)
      const sourceId = req.query.sourceId
      if (sourceId !== undefined && (typeof sourceId !== 'string' || prepared.get(sourceId)?.pipelineId !== pipeline.id)) {
        throw new InvalidRequest('sourceId must name a source prepared on this pipeline that is still waiting for its upload')
      }
      next()
    },
    readUpload(deps.maxUploadBytes),
    function processUpload(req, res) {
      const pipeline = ownedPipeline(req)
      const { items } = res.locals.upload as UploadSummary
      const sourceId = req.query.sourceId as string | undefined
      if (sourceId === undefined) {
        sendPredictions(res, pipeline, items)
        return
      }
      const waiting = prepared.get(sourceId)
      if (!waiting) throw new InvalidRequest('the prepared source stopped waiting for its upload')
      prepared.delete(sourceId)
      clearTimeout(waiting.timer)
      waiting.res.end(predictionLines(pipeline, sourceId, items))
      res.status(204).end()
    },
  )

  router.patch(`${WORKER_BASE_PATH}/pipelines/:pipelineId/pop`, anyPop, ...jsonBody, function setPop(req, res) {
    ownedPipeline(req).pop = req.body
    res.status(204).end()
  })

  router.delete(`${WORKER_BASE_PATH}/pipelines/:pipelineId`, anyPop, function stopPipeline(req, res) {
    pipelines.delete(ownedPipeline(req).id)
    res.status(204).end()
  })

  return router
}
