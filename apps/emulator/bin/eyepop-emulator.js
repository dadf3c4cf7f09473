#!/usr/bin/env node
// The installed command. It exists before the first build so that npm links it at install time;
// the command itself is built into dist/bin/ (one bundle: see scripts/bundle-cli.mjs).
import { existsSync } from 'node:fs'
import module from 'node:module'

const cli = new URL('../dist/bin/cli.js', import.meta.url)
if (!existsSync(cli)) {
  console.error('error: the emulator is not built yet: run "npm run build" at the repository root')
  process.exit(1)
}
// Node 22.1 and later keep compiled code on disk between runs (NODE_DISABLE_COMPILE_CACHE=1 turns
// it off); Node 20 has no such cache.
module.enableCompileCache?.()
await import(cli.href)
