import {
  assertPopAccess,
  requireAccessToken,
  type AccessPrincipal,
  type AccessTokenVerifier,
} from '@eyepop/auth-core'
import { randomUUID } from 'node:crypto'
import { Router, type Request, type RequestHandler, type Response } from 'express'
import { popCors } from '../http/cors.js'
import { sendJson } from '../http/error-handler.js'
import type { FastRoute } from '../http/fast-routes.js'
import { AccessDenied, InvalidRequest, NotFoundError } from '../http/errors.js'
import { jsonObjectBody } from '../http/json-body.js'
import { readUpload } from '../http/upload.js'
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
  const requireToken = requireAccessToken({
    verify: deps.verify,
    scopes: [INFERENCE_SCOPE],
    pop: (req) => String((req as Request).params.popId),
  })
  return {
    method: 'GET',
    path: '/pops/:popId/config',
    corsThroughExpress: true,
    async handle(req, res) {
      let authorized = false
      let failure: unknown
      // The middleware answers a refused token itself; it calls next() for a valid one (before it
      // returns, for a token it has verified before).
      const pending = requireToken(req, res, (err) => {
        if (err) failure = err
        else authorized = true
      })
      if (pending) await pending
      if (failure !== undefined) throw failure
      if (!authorized) return
      const request = req as Request
      const pop = await deps.pops.find(String(request.params.popId))
      if (!pop) throw new NotFoundError('pop not found')
      if (pop.accountId !== principal(request).accountId) {
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

/**
 * The Pop surface the EyePop SDK 1.x calls, behind auth-core's access-token verification:
 * - `GET /pops/{popId}/config` → `{base_url, pipeline_id, name, status, endpoints}`;
 * - `GET /workers/config` → `{base_url}` for transient workers;
 * - under `{base_url}`: `POST /pipelines` (200 `{id}`), `GET /pipelines/{id}`,
 *   `PATCH /pipelines/{id}/source`, `PATCH /pipelines/{id}/pop` and `DELETE /pipelines/{id}` (204);
 *   `process()`: `POST /pipelines/{id}/source` with an image or video, or `PATCH …/source` with a
 *   URL, answered with the Pop's canned predictions as JSON lines.
 *
 * A token of another account gets 403; an unknown Pop or pipeline gets 404. A temporary key only
 * reaches its own Pop and its pipeline (403 `insufficient_scope` elsewhere, including transient
 * workers). Browsers from allowed origins get CORS answers, preflights included.
 */
export function popRoutes(deps: {
  verify: AccessTokenVerifier
  /** `GET /pops/{popId}/config` (see {@link popConfigRoute}), mounted after the CORS handling. */
  configRoute: FastRoute
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
    requireAccessToken({
      verify: deps.verify,
      scopes: [INFERENCE_SCOPE],
      ...(pop && { pop: pop as (req: unknown) => string | null }),
    }) as unknown as RequestHandler
  // Checks the Pop of a worker route after the pipeline is found (see ownedPipeline).
  const anyPop = requireToken()

  router.use(['/pops', '/workers', WORKER_BASE_PATH], popCors(deps.corsOrigins))

  function ownedPipeline(req: Request): Pipeline {
    const pipeline = pipelines.get(String(req.params.pipelineId))
    if (!pipeline) throw new NotFoundError('pipeline not found')
    const auth = principal(req)
    if (pipeline.accountId !== auth.accountId) {
      throw new AccessDenied('access token does not grant access to this pipeline')
    }
    assertPopAccess(auth.claims, pipeline.popId)
    return pipeline
  }

  router.get(deps.configRoute.path, deps.configRoute.handle)

  router.get('/workers/config', requireToken(() => null), function workersConfig(_req, res) {
    sendJson(res, 200, { base_url: WORKER_BASE_PATH })
  })

  router.post(`${WORKER_BASE_PATH}/pipelines`, requireToken(() => null), ...jsonBody, function startPipeline(req, res) {
    const body = req.body as Record<string, unknown>
    const pipeline = pipelines.startTransient(
      principal(req).accountId,
      body.pop ?? { components: [] },
      body.source ?? { sourceType: 'NONE' },
    )
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

  function sendPredictions(res: Response, pipeline: Pipeline, sourceId: string): void {
    const lines = deps.predictions
      .forPop(pipeline.popId)
      .map((prediction) => JSON.stringify({ ...prediction, source_id: sourceId }))
    res.status(200).type('application/jsonl').send(`${lines.join('\n')}\n`)
  }

  // Sets the pipeline's source: NONE stops it (204); a URL or an asset is "processed" at once
  // and answered with the Pop's canned predictions as JSON lines, as the SDK's process() reads them.
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
        case 'URL': {
          if (typeof body.url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(body.url)) {
            throw new InvalidRequest('url must be an http or https URL')
          }
          sendPredictions(res, pipeline, randomUUID())
          return
        }
        case 'ASSET_UUID':
          if (typeof body.assetUuid !== 'string' || body.assetUuid === '') {
            throw new InvalidRequest('assetUuid must be a non-empty string')
          }
          sendPredictions(res, pipeline, randomUUID())
          return
        default:
          throw new InvalidRequest('sourceType must be NONE, URL or ASSET_UUID')
      }
    },
  )

  // An uploaded image or video (raw or multipart): read, discarded, answered with predictions.
  router.post(
    `${WORKER_BASE_PATH}/pipelines/:pipelineId/source`,
    anyPop,
    function findPipeline(req, _res, next) {
      ownedPipeline(req)
      next()
    },
    readUpload(deps.maxUploadBytes),
    function processUpload(req, res) {
      sendPredictions(res, ownedPipeline(req), randomUUID())
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
