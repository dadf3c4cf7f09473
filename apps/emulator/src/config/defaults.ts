/**
 * The emulator's configuration type and its defaults, both derived from the options' one
 * declaration in `options.ts`. Only `main.ts`/the CLI read `process.env`; everything else takes an
 * {@link EmulatorConfig}.
 *
 * @module
 */
import { OPTION_NAMES, OPTIONS, type EmulatorConfig } from './options.js'

export type { EmulatorConfig } from './options.js'
export { DEFAULT_DATA_DIR } from './options.js'

/** The database file inside the data dir. */
export const DATABASE_FILENAME = 'emulator.db'

/** The defaults (options without one, such as `issuer`, are absent). */
export const defaults: Readonly<EmulatorConfig> = Object.freeze(
  Object.fromEntries(OPTION_NAMES.filter((name) => OPTIONS[name].default !== undefined).map((name) => [name, OPTIONS[name].default])),
) as EmulatorConfig
