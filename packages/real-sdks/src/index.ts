/**
 * `@eyepop/real-sdks`: the real EyePop SDKs, installed by `npm run setup` (see
 * `scripts/setup.mjs`), for tests that drive the emulator with the clients EyePop's users run.
 *
 * - {@link loadNodeSdkV3}: the Node SDK `@eyepop.ai/eyepop` 3.17.2, unchanged. It ships no type
 *   declarations; {@link NodeSdkV3} types what the tests use of it, from its source.
 * - {@link pythonSdk}: the Python executable of a virtualenv with the Python SDK `eyepop` 3.25.0.
 * - {@link nodeSdkV3Tarball}: the Node SDK's npm tarball, for a project of its own (the install check).
 *
 * Each throws, with what to run, when the SDKs are not installed: a suite that needs them fails,
 * it never skips.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const INSTALLED = resolve(dirname(fileURLToPath(import.meta.url)), '..', '.installed')
/** The Node SDK's file in the source folder (as `scripts/setup.mjs` names it). */
const NODE_SDK_V3_TARBALL = 'eyepop.ai-eyepop-3.17.2.tgz'

/** What `scripts/setup.mjs` installed. */
interface Manifest {
  source: string
  node: { dir: string; version: string }
  python: { executable: string; version: string }
}

function manifest(): Manifest {
  const file = join(INSTALLED, 'manifest.json')
  if (!existsSync(file)) {
    throw new Error(`the real EyePop SDKs are not installed (no ${file}): run \`npm run setup -w @eyepop/real-sdks\` (see the README, "SDK compatibility")`)
  }
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest
}

/** A prediction as the SDKs yield it (the fields the tests read). */
export interface Prediction {
  source_width: number
  source_height: number
  source_id?: string
  objects?: Array<Record<string, unknown>>
  [field: string]: unknown
}

/** The session a server hands a browser (`endpoint.session()`), as JSON. */
export interface SdkSession {
  eyepopUrl: string
  accessToken: string
  /** Expiry in ms since the epoch. */
  validUntil: number
  popId?: string
  baseUrl?: string
  pipelineId?: string
}

/** A source of `process()` (the 3.x `ProcessRequest.source`). */
export type ProcessSource =
  | { path: string }
  | { url: string }
  | { file: Blob }
  | { stream: ReadableStream<Uint8Array> | Blob | Uint8Array; mimeType: string; size?: number; videoMode?: 'stream' | 'buffer' }

/** The 3.x `WorkerEndpoint` (worker/worker_endpoint.ts). */
export interface WorkerEndpointV3 {
  connect(): Promise<WorkerEndpointV3>
  disconnect(wait?: boolean): Promise<void>
  session(): Promise<SdkSession>
  process(request: { source: ProcessSource }): Promise<AsyncIterable<Prediction>>
  uploadGroup(paths: string[]): Promise<AsyncIterable<Prediction>>
  uploadStreamGroup(streams: Array<Blob | Uint8Array>, mimeTypes?: string[]): Promise<AsyncIterable<Prediction>>
  loadFromGroup(urls: string[]): Promise<AsyncIterable<Prediction>>
}

/** The 3.x `DataEndpoint` (data/data_endpoint.ts). */
export interface DataEndpointV3 {
  connect(): Promise<DataEndpointV3>
  disconnect(wait?: boolean): Promise<void>
  session(): Promise<SdkSession & { datasetApiUrl: string; vlmApiUrl: string }>
}

/** Options shared by both endpoints (options.ts). */
export interface NodeSdkV3Options {
  eyepopUrl?: string
  apiKey?: string
  accessToken?: string
  session?: SdkSession
  /** A pino logger; the SDK logs to stdout at info by default. */
  logger?: unknown
}

/** The part of `@eyepop.ai/eyepop` 3.17.2 the tests use. */
export interface NodeSdkV3 {
  EyePop: {
    workerEndpoint(options: NodeSdkV3Options & { pop?: { components: unknown[] }; popId?: string; sessionUuid?: string }): WorkerEndpointV3
    dataEndpoint(options: NodeSdkV3Options & { accountId?: string; disableWs?: boolean }): DataEndpointV3
  }
}

/** Loads the real Node SDK 3.17.2 (CommonJS), from its own install folder. */
export function loadNodeSdkV3(): NodeSdkV3 {
  const { node } = manifest()
  const required = createRequire(join(node.dir, 'package.json'))
  const version = (required('@eyepop.ai/eyepop/package.json') as { version: string }).version
  if (version !== '3.17.2') throw new Error(`expected @eyepop.ai/eyepop 3.17.2 in ${node.dir}, found ${version}`)
  return required('@eyepop.ai/eyepop') as NodeSdkV3
}

/**
 * The Node SDK 3.17.2's npm tarball, in the folder the SDKs were installed from, for tests that
 * `npm install` it into a project of their own.
 */
export function nodeSdkV3Tarball(): string {
  const tarball = join(manifest().source, NODE_SDK_V3_TARBALL)
  if (!existsSync(tarball)) throw new Error(`the Node SDK's tarball is gone (${tarball}): set EYEPOP_REAL_SDKS and run \`npm run setup -w @eyepop/real-sdks\``)
  return tarball
}

/** The path of a module the Node SDK resolves (e.g. its own `pino`), for options it expects. */
export function resolveFromNodeSdkV3(specifier: string): string {
  return createRequire(join(manifest().node.dir, 'node_modules', '@eyepop.ai', 'eyepop', 'package.json')).resolve(specifier)
}

/** The real Python SDK 3.25.0: the `python` of its virtualenv. */
export function pythonSdk(): { python: string; version: string } {
  const { python } = manifest()
  if (!existsSync(python.executable)) throw new Error(`the Python SDK's virtualenv is gone (${python.executable}): run \`npm run setup -w @eyepop/real-sdks\``)
  return { python: python.executable, version: python.version }
}
