#!/usr/bin/env node
// Rehearses apps/emulator/Dockerfile without Docker, by reading and interpreting the Dockerfile
// itself, so that the check cannot drift from the file (no Docker engine exists on the machines
// that run CI).
//
// What it does: every stage gets a temporary directory as its filesystem root (the image's own
// absolute paths, such as /repo, /app, /data and /usr/local/bin, are rewritten under it). COPY takes
// files from the build context (the repository root, honoring .dockerignore) or, with --from, from
// an earlier stage, keeping symbolic links as they are; WORKDIR, ENV, VOLUME and EXPOSE are applied;
// RUN runs in the stage's WORKDIR with the stage's ENV (npm with --prefer-offline, so the machine's
// npm cache serves what it can). Then the final stage's ENTRYPOINT + CMD starts with the image's ENV
// only (the host and port overridden: 127.0.0.1 and a free port, so a CI machine exposes nothing),
// and must answer GET /healthz with 200 and serve discovery with an issuer; the HEALTHCHECK command
// runs against it; SIGTERM must stop it with status 0. Exit status 0 when all of that holds, 1 with
// the reason (and the process's output) otherwise.
//
// What it cannot check: the base image (its Node version is the host's here, its OS libraries are
// the host's), OS packages (RUN apt-get … is skipped and said so), users and permissions (USER is
// not switched, chown is skipped: everything runs as the current user), and Dockerfile features it
// does not interpret (ARG, ADD, SHELL, wildcards in COPY, …), which stop it with an error rather
// than being ignored.
//
// Usage: node scripts/rehearse-dockerfile.mjs (npm run rehearse:docker); REHEARSE_DOCKERFILE_KEEP=1
// keeps the stages' folders for a look after a failure.
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'

const context = fileURLToPath(new URL('..', import.meta.url))
const dockerfile = 'apps/emulator/Dockerfile'
const startedAt = Date.now()
const log = (message) => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${message}`)
const fail = (message) => {
  throw Object.assign(new Error(message), { rehearsal: true })
}
const tail = (text, lines = 60) => text.trimEnd().split('\n').slice(-lines).join('\n')

/** The instructions of a Dockerfile: continuations joined, comments and parser directives dropped. */
function parseDockerfile(text) {
  const instructions = []
  let pending = ''
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue
    if (raw.endsWith('\\')) {
      pending += `${raw.slice(0, -1)} `
      continue
    }
    const line = (pending + raw).trim()
    pending = ''
    if (line === '') continue
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line)
    instructions.push({ op: op.toUpperCase(), args, line })
  }
  return instructions
}

/** Leading `--name=value` flags and the rest. */
function splitFlags(args) {
  const flags = {}
  let rest = args
  for (let m; (m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)); rest = rest.slice(m[0].length)) flags[m[1]] = m[2] ?? true
  return { flags, rest }
}

/** An ENTRYPOINT, CMD or RUN argument list: exec form (JSON) or shell form. */
const argv = (args) => (args.trim().startsWith('[') ? JSON.parse(args) : ['/bin/sh', '-c', args])

/** The folders of a VOLUME instruction (JSON array or words). */
const volumes = (args) => (args.trim().startsWith('[') ? JSON.parse(args) : args.trim().split(/\s+/))

/** `ENV A=1 B="two words"` or the legacy `ENV A 1`. */
function parseEnv(args) {
  const words = args.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? []
  const unquote = (v) => v.replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1')
  if (!words[0]?.includes('=')) return { [words[0]]: unquote(args.slice(words[0].length).trim()) }
  return Object.fromEntries(words.map((w) => [w.slice(0, w.indexOf('=')), unquote(w.slice(w.indexOf('=') + 1))]))
}

/** .dockerignore rules as [regexp, negated] pairs (Go filepath.Match syntax plus `**`). */
function readDockerignore() {
  const file = join(context, '.dockerignore')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!')
      const pattern = posix.normalize(l.slice(negated ? 1 : 0)).replace(/^\/+/, '')
      const source = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((t) => ({ '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*', '?': '[^/]' })[t] ?? t.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
        .join('')
      return [new RegExp(`^${source}$`), negated]
    })
}
const ignoreRules = readDockerignore()
/** Whether the build context leaves out `rel` (a path relative to the context): the last rule that matches it or a parent wins. */
function ignored(rel) {
  const paths = rel.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))
  let excluded = false
  for (const [re, negated] of ignoreRules) if (paths.some((p) => re.test(p))) excluded = !negated
  return excluded
}

/** Copies `rel` from the build context to `to`, leaving out what .dockerignore excludes. */
function copyFromContext(rel, to) {
  const from = join(context, rel)
  if (!lstatSync(from).isDirectory()) {
    mkdirSync(dirname(to), { recursive: true })
    cpSync(from, to, { verbatimSymlinks: true })
    return
  }
  mkdirSync(to, { recursive: true })
  const hasExceptions = ignoreRules.some(([, negated]) => negated)
  for (const name of readdirSync(from)) {
    const child = posix.join(rel, name)
    if (!ignored(child) || (hasExceptions && lstatSync(join(context, child)).isDirectory())) copyFromContext(child, join(to, name))
  }
}

const instructions = parseDockerfile(readFileSync(join(context, dockerfile), 'utf8'))
const workRoot = mkdtempSync(join(tmpdir(), 'rehearse-dockerfile-'))
const stages = []
let stage

// The image's own top-level folders (and /usr/local, where images link their commands): absolute
// paths under them are rewritten under the stage's root; any other absolute path is the host's.
const imagePrefixes = new Set(['/usr/local'])
const pathsOf = {
  WORKDIR: (args) => [args],
  VOLUME: volumes,
  ENV: (args) => Object.values(parseEnv(args)),
  COPY: (args) => [splitFlags(args).rest.trim().split(/\s+/).at(-1)],
}
for (const { op, args } of instructions) {
  for (const p of pathsOf[op]?.(args) ?? []) if (/^\/[^/]/.test(p)) imagePrefixes.add(`/${p.split('/')[1]}`)
}
const rewrite = (text, root) =>
  text.replace(/(^|[\s='"(:])(\/[\w.@+\-/]*)/g, (all, lead, p) =>
    [...imagePrefixes].some((pre) => p === pre || p.startsWith(`${pre}/`)) ? lead + root + p : all)
const inStage = (s, p) => join(s.root, posix.resolve(s.workdir, p))

// The host's environment for RUN, without what `npm run` adds about this repository (npm in a
// stage must find its own project), plus npm served from the machine's cache first and node-gyp
// compiling on every core (better-sqlite3 builds from source when no prebuilt binary downloads).
// npm_config_nodedir stays: it names the headers of the Node that runs here (CI's Node builds from
// npm), without which node-gyp compiles for another Node and the image's command cannot load it.
const hostEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$|NODE_ENV$|NODE_OPTIONS$)/i.test(k) || /^npm_config_(cache|userconfig|registry|nodedir)$/i.test(k)),
)
Object.assign(hostEnv, { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false', TURBO_TELEMETRY_DISABLED: '1', JOBS: 'max' })
const pathOf = (s) => ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(s.root, d))
const stageEnv = (s) => Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, rewrite(v, s.root)]))

function run(args) {
  if (/(^|&&|;)\s*apt-get\b/.test(args)) return log(`skipped (OS packages are not rehearsed): RUN ${args}`)
  let command = args
  if (!args.trim().startsWith('[')) {
    const steps = args.split(/\s*&&\s*/)
    for (const step of steps.filter((s) => /^chown\b/.test(s))) log(`skipped (users and permissions are not rehearsed): ${step}`)
    command = steps.filter((s) => !/^chown\b/.test(s)).join(' && ')
  }
  const [file, ...rest] = argv(command).map((a) => rewrite(a, stage.root))
  log(`RUN ${command}`)
  const env = { ...hostEnv, ...stageEnv(stage), PATH: [join(stage.root, '/usr/local/bin'), hostEnv.PATH].join(':') }
  const result = spawnSync(file, rest, { cwd: inStage(stage, '.'), env, encoding: 'utf8', maxBuffer: 256 << 20 })
  if (result.status !== 0) fail(`RUN ${command} exited with ${result.status ?? result.signal ?? result.error}\n${tail(`${result.stdout}${result.stderr}`)}`)
}

function copy(args) {
  const { flags, rest } = splitFlags(args)
  for (const flag of Object.keys(flags)) if (!['from', 'chown', 'chmod', 'link'].includes(flag)) fail(`COPY --${flag} is not rehearsed`)
  const sources = rest.trim().startsWith('[') ? JSON.parse(rest) : rest.trim().split(/\s+/)
  const dest = posix.resolve(stage.workdir, sources.at(-1))
  const intoDir = sources.at(-1).endsWith('/') || sources.length > 2
  const from = flags.from === undefined ? null : stages.find((s) => s.name === flags.from) ?? fail(`COPY --from=${flags.from}: no such stage`)
  log(`COPY ${args}`)
  for (const src of sources.slice(0, -1)) {
    if (/[*?[]/.test(src)) fail(`COPY ${src}: wildcards are not rehearsed`)
    const target = (isDir) => join(stage.root, isDir || !intoDir ? dest : posix.join(dest, posix.basename(src)))
    if (from) {
      const path = join(from.root, posix.resolve('/', src))
      if (!existsSync(path)) fail(`COPY --from=${flags.from} ${src}: not found in stage ${flags.from}`)
      cpSync(path, target(lstatSync(path).isDirectory()), { recursive: true, verbatimSymlinks: true })
    } else {
      const rel = posix.normalize(src).replace(/^\/+|\/+$/g, '') || '.'
      if (rel.startsWith('..') || !existsSync(join(context, rel))) fail(`COPY ${src}: not found in the build context`)
      if (rel !== '.' && ignored(rel)) fail(`COPY ${src}: excluded by .dockerignore`)
      copyFromContext(rel === '.' ? '' : rel, target(lstatSync(join(context, rel)).isDirectory()))
    }
  }
}

/** A TCP port nobody listens on right now. */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** Starts the final stage's ENTRYPOINT + CMD and checks that it serves, passes its HEALTHCHECK and stops. */
async function start() {
  const [command, ...args] = [...stage.entrypoint, ...stage.cmd].map((a) => rewrite(a, stage.root))
  if (command === undefined) fail('the final stage has neither ENTRYPOINT nor CMD')
  // Docker looks the command up in the image's PATH; the base image's node is the host's here.
  const executable = command.includes('/') ? command : pathOf(stage).map((d) => join(d, command)).find((p) => existsSync(p)) ?? (command === 'node' ? process.execPath : fail(`${command}: not found in the image's PATH`))
  const imagePort = stage.env.EYEPOP_EMULATOR_PORT ?? '8700'
  if (stage.expose.length > 0 && !stage.expose.includes(imagePort)) fail(`EXPOSE ${stage.expose.join(' ')}, but the emulator listens on ${imagePort}`)
  const port = String(await freePort())
  const home = join(stage.root, '/home/node')
  mkdirSync(home, { recursive: true })
  const env = { ...stageEnv(stage), PATH: [...pathOf(stage), dirname(process.execPath)].join(':'), HOME: home, EYEPOP_EMULATOR_HOST: '127.0.0.1', EYEPOP_EMULATOR_PORT: port }
  const cwd = inStage(stage, '.')
  log(`start ${[command, ...args].join(' ')} (the image's ENV; host 127.0.0.1, port ${port}, data dir ${env.EYEPOP_EMULATOR_DATA_DIR ?? 'default'})`)
  const child = spawn(executable, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  let status = null
  exited.then((s) => (status = s))
  const withOutput = (message) => `${message}\n--- the process's output ---\n${tail(output) || '(none)'}`
  try {
    const base = `http://127.0.0.1:${port}`
    for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 250))) {
      if (status) fail(withOutput(`the emulator exited with ${status.code ?? status.signal} before answering GET /healthz`))
      if (Date.now() > deadline) fail(withOutput('GET /healthz did not answer 200 within 60 s'))
      const res = await fetch(`${base}/healthz`).catch(() => null)
      if (res?.status === 200) break
    }
    log('GET /healthz → 200')
    const discovery = await fetch(`${base}/.well-known/openid-configuration`)
    const body = await discovery.json().catch(() => null)
    if (discovery.status !== 200 || typeof body?.issuer !== 'string') fail(withOutput(`GET /.well-known/openid-configuration → ${discovery.status}, no issuer in ${JSON.stringify(body)}`))
    log(`GET /.well-known/openid-configuration → 200, issuer ${body.issuer}`)
    if (stage.healthcheck) {
      // The HEALTHCHECK runs inside the container, against the image's port: here, the free port.
      const check = stage.healthcheck.command.map((a) => rewrite(a, stage.root).replaceAll(`:${imagePort}`, `:${port}`))
      const result = spawnSync(check[0], check.slice(1), { cwd, env, encoding: 'utf8', timeout: stage.healthcheck.timeoutMs })
      if (result.status !== 0) fail(withOutput(`HEALTHCHECK exited with ${result.status ?? result.signal ?? result.error}: ${result.stdout}${result.stderr}`))
      log('HEALTHCHECK → 0')
    }
    child.kill('SIGTERM')
    const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 10_000).unref())])
    if (stopped === null) fail(withOutput('the emulator did not exit within 10 s of SIGTERM'))
    if (stopped.code !== 0) fail(withOutput(`the emulator exited with ${stopped.code ?? stopped.signal} on SIGTERM`))
    log('SIGTERM → exited with 0')
  } finally {
    if (!status) child.kill('SIGKILL')
  }
}

try {
  log(`rehearsing ${dockerfile} (build context ${context}, ${ignoreRules.length} .dockerignore rules) in ${workRoot}`)
  for (const { op, args, line } of instructions) {
    if (op === 'FROM') {
      const [, image, name] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? fail(`cannot read ${line}`)
      const parent = stages.find((s) => s.name === image)
      const fresh = { workdir: '/', env: {}, expose: [], entrypoint: [], cmd: [], healthcheck: null }
      const inherited = parent && { ...parent, env: { ...parent.env }, expose: [...parent.expose] }
      stage = { ...(inherited ?? fresh), name: name ?? String(stages.length), root: join(workRoot, `stage-${stages.length}`) }
      if (parent) cpSync(parent.root, stage.root, { recursive: true, verbatimSymlinks: true })
      mkdirSync(join(stage.root, '/usr/local/bin'), { recursive: true })
      stages.push(stage)
      log(`FROM ${args}${parent ? '' : ' (the base image is not rehearsed: Node is the host\'s ' + process.version + ')'}`)
    } else if (op === 'WORKDIR') {
      stage.workdir = posix.resolve(stage.workdir, args)
      mkdirSync(inStage(stage, '.'), { recursive: true })
    } else if (op === 'ENV') Object.assign(stage.env, parseEnv(args))
    else if (op === 'COPY') copy(args)
    else if (op === 'RUN') run(args)
    else if (op === 'USER') log(`USER ${args} is not switched to (runs as the current user)`)
    else if (op === 'VOLUME') for (const p of volumes(args)) mkdirSync(join(stage.root, p), { recursive: true })
    else if (op === 'EXPOSE') stage.expose.push(...args.split(/\s+/).map((p) => p.replace(/\/tcp$/, '')))
    else if (op === 'ENTRYPOINT') stage.entrypoint = argv(args)
    else if (op === 'CMD') stage.cmd = argv(args)
    else if (op === 'HEALTHCHECK') {
      const { flags, rest } = splitFlags(args)
      const [, amount, unit] = /^([\d.]+)(ms|s|m|h)$/.exec(flags.timeout ?? '30s') ?? fail(`cannot read ${line}`)
      const timeoutMs = Number(amount) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]
      stage.healthcheck = /^NONE$/i.test(rest) ? null : { command: argv(rest.replace(/^CMD\s+/i, '')), timeoutMs }
    } else if (op !== 'LABEL') fail(`${op} is not rehearsed: teach scripts/rehearse-dockerfile.mjs what it means (${line})`)
  }
  await start()
  log(`the image starts and serves: ${dockerfile} rehearsed`)
  process.exitCode = 0
} catch (error) {
  console.error(`\nrehearse-dockerfile: FAILED: ${error.rehearsal ? error.message : error.stack}`)
  process.exitCode = 1
} finally {
  if (process.env.REHEARSE_DOCKERFILE_KEEP) log(`the stages are kept in ${workRoot}`)
  else {
    rmSync(workRoot, { recursive: true, force: true })
    log(`removed ${workRoot}`)
  }
}
