#!/usr/bin/env node
// The installed command. It exists before the first build so that npm links it at install time;
// the CLI itself is compiled to dist/.
import { existsSync } from 'node:fs'

const cli = new URL('../dist/cli.js', import.meta.url)
if (!existsSync(cli)) {
  console.error('error: the emulator is not built yet: run "npm run build" at the repository root')
  process.exit(1)
}
await import(cli.href)
