// Writes the README's table of `start` options from their declaration (src/config/options.ts,
// compiled to dist/): npm run docs:options -w @eyepop/emulator.
import { readFileSync, writeFileSync } from 'node:fs'
import { withOptionsTable } from '../dist/config/options-table.js'

const readme = new URL('../../../README.md', import.meta.url)
const before = readFileSync(readme, 'utf8')
const after = withOptionsTable(before)
writeFileSync(readme, after)
console.log(after === before ? 'README.md: the options table was up to date' : 'README.md: the options table was rewritten')
