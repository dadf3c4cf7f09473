// Bundles the `eyepop-emulator` command (dist/cli/run.js, compiled by tsc) and the modules it loads,
// @eyepop/auth-core included, into dist/bin/: a key command then loads a handful of files instead
// of about forty, and starts sooner (which is most of the time from `keys delete` to the first
// 401). npm dependencies stay external: they are installed next to the package, and better-sqlite3
// is native. The library entry (dist/index.js) is not bundled.
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const packageDir = fileURLToPath(new URL('../', import.meta.url))
const outdir = `${packageDir}dist/bin`
const dependencies = (dir) => {
  const manifest = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'))
  return Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })
}
const coreDir = dirname(createRequire(import.meta.url).resolve('@eyepop/auth-core/package.json'))
const external = [...dependencies(packageDir), ...dependencies(coreDir)].filter((name) => !name.startsWith('@eyepop/'))

await rm(outdir, { recursive: true, force: true })
await build({
  entryPoints: { cli: `${packageDir}dist/cli/run.js` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  external,
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
})
