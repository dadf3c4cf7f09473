/**
 * The README's table of `start` options, rendered from their declaration (`options.ts`). A test
 * compares it with the README; `npm run docs:options -w @eyepop/emulator` writes it there.
 *
 * @module
 */
import { MEMORY_FLAG, OPTION_NAMES, OPTIONS, type OptionSpec } from './options.js'

/** The comments around the table in the README. */
export const OPTIONS_TABLE_START = '<!-- options: generated from apps/emulator/src/config/options.ts (npm run docs:options -w @eyepop/emulator) -->'
export const OPTIONS_TABLE_END = '<!-- /options -->'

/** Markdown code, for a value that may hold a backtick or a pipe. */
const code = (text: string) => `\`${text.replaceAll('|', '\\|')}\``
const cell = (text: string) => text.replaceAll('|', '\\|')

/** The table (Markdown), one row per option in their declared order. */
export function renderOptionsTable(): string {
  const rows = ['| option | env | default | meaning |', '|---|---|---|---|']
  for (const name of OPTION_NAMES) {
    const spec: OptionSpec<unknown, boolean> = OPTIONS[name]
    const flag = spec.boolean ? `${spec.flag} [bool]` : `${spec.flag} ${spec.valueName}`
    const shown = spec.defaultText ?? (Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default))
    const meaning = spec.why ? `${spec.help}; ${spec.why}` : spec.help
    rows.push(`| ${code(flag)} | ${code(spec.env)} | ${spec.defaultText ? cell(shown) : code(shown)} | ${cell(meaning)} |`)
    if (name === 'dataDir') rows.push(`| ${code(MEMORY_FLAG.flag)} | | off | ${cell(MEMORY_FLAG.help)} |`)
  }
  return rows.join('\n')
}

/** `readme` with the text between the table's comments replaced by the rendered table. */
export function withOptionsTable(readme: string): string {
  const start = readme.indexOf(OPTIONS_TABLE_START)
  const end = readme.indexOf(OPTIONS_TABLE_END)
  if (start === -1 || end < start) throw new Error(`the README has no ${OPTIONS_TABLE_START} … ${OPTIONS_TABLE_END} section`)
  return `${readme.slice(0, start + OPTIONS_TABLE_START.length)}\n${renderOptionsTable()}\n${readme.slice(end)}`
}
