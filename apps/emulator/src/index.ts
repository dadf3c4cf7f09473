/**
 * `@eyepop/emulator`: a local EyePop.ai OAuth and key-management emulator.
 *
 * @module
 */
export { createApp } from './app.js'
export type { CreateAppOptions, EmulatorApp } from './app.js'
export { defaults, DATABASE_FILENAME, DEFAULT_DATA_DIR } from './config/defaults.js'
export type { EmulatorConfig } from './config/defaults.js'
export { resolveConfig, issuerOf } from './config/schema.js'
export { startServer } from './main.js'
export type { RunningServer, StartServerOptions } from './main.js'
