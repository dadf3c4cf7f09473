import { readFileSync } from 'node:fs'

/** One canned prediction: the shape of the EyePop SDK's `Prediction`. */
export type Prediction = Record<string, unknown> & { source_width: number; source_height: number }

/**
 * The prediction every Pop returns unless configured otherwise: one person, deterministic, on a
 * 640×480 frame. The mock Pop does not look at the image.
 */
export const DEFAULT_PREDICTION: Prediction = Object.freeze({
  timestamp: 0,
  seconds: 0,
  source_width: 640,
  source_height: 480,
  objects: [
    {
      id: 1,
      category: 'person',
      classLabel: 'person',
      confidence: 0.97,
      x: 212,
      y: 96,
      width: 180,
      height: 352,
      orientation: 0,
    },
  ],
}) as Prediction

/**
 * The canned predictions of a predictions file:
 * `{ "default": Prediction | Prediction[], "pops": { "<popId>": Prediction | Prediction[] } }`.
 * Every key is optional. An array gives several results (frames) per `process()` call.
 */
export interface PredictionCatalog {
  /** The predictions for a Pop (or a transient pipeline, `popId` null). */
  forPop(popId: string | null): readonly Prediction[]
}

function asList(value: unknown, where: string): Prediction[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) throw new TypeError(`${where} must not be an empty list`)
  for (const p of list) {
    const ok =
      typeof p === 'object' && p !== null && typeof (p as Prediction).source_width === 'number' && typeof (p as Prediction).source_height === 'number'
    if (!ok) throw new TypeError(`${where} must be a prediction object with numeric source_width and source_height`)
  }
  return list as Prediction[]
}

/** Builds a catalog from the parsed contents of a predictions file. */
export function createPredictionCatalog(contents: unknown = {}): PredictionCatalog {
  if (typeof contents !== 'object' || contents === null || Array.isArray(contents)) {
    throw new TypeError('predictions file must hold a JSON object')
  }
  const { default: fallback, pops = {} } = contents as { default?: unknown; pops?: unknown }
  const defaults = fallback === undefined ? [DEFAULT_PREDICTION] : asList(fallback, 'predictions "default"')
  if (typeof pops !== 'object' || pops === null || Array.isArray(pops)) {
    throw new TypeError('predictions "pops" must be an object keyed by Pop id')
  }
  const byPop = new Map(Object.entries(pops).map(([id, value]) => [id, asList(value, `predictions "pops.${id}"`)]))
  return {
    forPop: (popId) => (popId !== null && byPop.get(popId)) || defaults,
  }
}

/** Reads a predictions file, failing fast with a message that names the file. */
export function loadPredictionCatalog(path: string | undefined): PredictionCatalog {
  if (path === undefined) return createPredictionCatalog()
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new TypeError(`cannot read the predictions file ${path}: ${(err as Error).message}`)
  }
  return createPredictionCatalog(parsed)
}
