import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function packageDirOf(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at
    if (dirname(at) === at) throw new Error(`no package.json above ${dir}`)
  }
}

/**
 * The package's folder: the nearest one up with a package.json. This module runs from src/, dist/
 * or, bundled into the command, dist/bin/. Static files shipped with the package (the dashboard,
 * the login page's stylesheet) are found from here.
 */
export const PACKAGE_DIR = packageDirOf(fileURLToPath(new URL('.', import.meta.url)))

/** The package's version (`eyepop-emulator --version`). */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version
