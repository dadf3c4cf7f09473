#!/usr/bin/env node
/**
 * Installs the real EyePop SDKs into `.installed/` for the SDK-compatibility suite and the
 * recorded `EyePopNodeSdkV3` contract:
 * - the Node SDK 3.17.2 (an npm tarball; its dependencies come from npm) into `.installed/node-v3`;
 * - the Python SDK 3.25.0 into a virtualenv at `.installed/python`, with the folder's own offline
 *   installer (`setup-python-sdk.sh`).
 *
 * They come from the folder `EYEPOP_REAL_SDKS` names, by default `../shared/real-sdks` beside the
 * repository (no registry here serves them). Each SDK is installed once per version of its source
 * (a stamp holds the source's SHA-256). When an SDK cannot be installed this fails, loudly: the
 * suite that needs it must never skip.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const NODE_TARBALL = 'eyepop.ai-eyepop-3.17.2.tgz'
const PYTHON_TARBALL = 'eyepop-sdk-python-3.25.0.tar.gz'
const PYTHON_SETUP = 'setup-python-sdk.sh'

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const repoDir = resolve(packageDir, '..', '..')
const installed = join(packageDir, '.installed')
const source = resolve(process.env.EYEPOP_REAL_SDKS || join(repoDir, '..', 'shared', 'real-sdks'))

function fail(message) {
  console.error(`error: ${message}`)
  process.exit(1)
}

function sha256(...files) {
  const hash = createHash('sha256')
  for (const file of files) hash.update(readFileSync(file))
  return hash.digest('hex')
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options })
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim()
    fail(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${output.split('\n').slice(-30).join('\n')}`)
  }
  return result.stdout.trim()
}

/** Runs `install` unless `dir` holds a stamp of the same `digest`; returns whether it installed. */
function once(dir, digest, install) {
  const stamp = join(dir, '.stamp')
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return false
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  install()
  writeFileSync(stamp, digest)
  return true
}

for (const file of [NODE_TARBALL, PYTHON_TARBALL, PYTHON_SETUP]) {
  if (!existsSync(join(source, file))) {
    fail(
      `the real EyePop SDKs are not where the SDK-compatibility suite looks for them: ${join(source, file)} is missing.\n` +
        'Set EYEPOP_REAL_SDKS to the folder that holds them (see the README, "SDK compatibility").',
    )
  }
}

const nodeDir = join(installed, 'node-v3')
const nodeInstalled = once(nodeDir, sha256(join(source, NODE_TARBALL)), () => {
  writeFileSync(join(nodeDir, 'package.json'), `${JSON.stringify({ name: 'eyepop-real-sdk-node-v3', private: true }, null, 2)}\n`)
  // Its own folder, not a workspace: the SDK is named like the 1.18.1 one the workspace uses.
  // No install scripts: it is used from its built dist/, and needs none of its build tools' binaries.
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', '--workspaces=false', join(source, NODE_TARBALL)], {
    cwd: nodeDir,
    env: { ...process.env, npm_config_workspace: '', npm_config_workspaces: '' },
  })
})
const nodeVersion = run(process.execPath, ['-p', "require('@eyepop.ai/eyepop/package.json').version"], { cwd: nodeDir })
if (nodeVersion !== '3.17.2') fail(`expected the Node SDK 3.17.2 in ${nodeDir}, found ${nodeVersion}`)

const pythonDir = join(installed, 'python')
const pythonInstalled = once(pythonDir, sha256(join(source, PYTHON_TARBALL), join(source, PYTHON_SETUP)), () => {
  run('bash', [join(source, PYTHON_SETUP), pythonDir], { cwd: installed })
})
const python = join(pythonDir, 'bin', 'python')
const pythonVersion = run(python, ['-c', "from importlib.metadata import version; import eyepop; print(version('eyepop'))"])
if (pythonVersion !== '3.25.0') fail(`expected the Python SDK 3.25.0 in ${pythonDir}, found ${pythonVersion}`)

writeFileSync(
  join(installed, 'manifest.json'),
  `${JSON.stringify({ source, node: { dir: nodeDir, version: nodeVersion }, python: { executable: python, version: pythonVersion } }, null, 2)}\n`,
)
console.log(
  `real EyePop SDKs ready: Node ${nodeVersion}${nodeInstalled ? ' (installed)' : ''}, Python ${pythonVersion}${pythonInstalled ? ' (installed)' : ''}, from ${source}`,
)
