/**
 * Installable (issue 15): `@eyepop/auth-core` and `@eyepop/emulator`, packed with `npm pack`, install
 * from their tarballs into a project of their own outside the repository, and there:
 * - `npx eyepop-emulator` runs: `--version`, `keys create`, `start` on a free loopback port
 *   (discovery served, the key exchanged for an access token), stopped by SIGTERM;
 * - both import from a plain Node ESM script, each entry of their `exports`, and load with
 *   require() from CommonJS;
 * - the project's vitest suite (`project/test/`) passes: the real EyePop Node SDK against an
 *   emulator started in process (`sdk.test.ts`), and `@eyepop/emulator/testing` as an app's tests
 *   use it: virtual time, a fault, reset (`harness.test.ts`); `@eyepop/auth-core/postgres` with
 *   `pg` installed beside it, its failures the main entry's error classes (`postgres.test.ts`);
 * - their types resolve under `moduleResolution: node16` and `bundler` (`project/types.ts`).
 *
 * Nothing here skips: without a tarball, the SDK or the registry's packages, it fails.
 */
import { lstatSync, mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInstalledProject, PACKED, packageDir, run, runOk, startCommand, versionOf, type InstalledProject } from './project.js'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))

let project: InstalledProject
beforeAll(async () => {
  project = await createInstalledProject()
})
afterAll(() => project?.remove())

describe('the packed packages, installed from their tarballs', () => {
  it('are installed as copies outside the repository, not as links to the workspace', () => {
    for (const name of PACKED) {
      const dir = join(project.dir, 'node_modules', name)
      expect(lstatSync(dir).isSymbolicLink(), `${name} is a link`).toBe(false)
      expect(relative(REPO, realpathSync(dir)).startsWith('..'), `${name} is inside the repository`).toBe(true)
      expect(versionOf(join(dir, 'package.json'))).toBe(versionOf(join(packageDir(name), 'package.json')))
    }
  })

  it("resolve the emulator's auth-core to the other tarball, not to one from the registry", () => {
    const fromEmulator = createRequire(join(project.dir, 'node_modules/@eyepop/emulator/package.json')).resolve('@eyepop/auth-core/package.json')
    expect(fromEmulator).toBe(join(project.dir, 'node_modules/@eyepop/auth-core/package.json'))
  })
})

describe('npx eyepop-emulator, from the installed package', () => {
  it('prints the package version with --version', async () => {
    const out = await runOk('npx', ['--no', '--', 'eyepop-emulator', '--version'], { cwd: project.dir })
    expect(out.trim()).toBe(versionOf(join(project.dir, 'node_modules/@eyepop/emulator/package.json')))
  })

  it('creates a key, starts on a free loopback port, serves discovery and the key, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'eyepop-install-check-data-'))
    try {
      const created = JSON.parse(
        await runOk('npx', ['--no', '--', 'eyepop-emulator', 'keys', 'create', '--name', 'install check', '--json', '--data-dir', dataDir], { cwd: project.dir }),
      ) as { id: string; key: string }
      const started = await startCommand(project.dir, ['--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', '--data-dir', dataDir])
      try {
        expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        const discovery = await fetch(`${started.url}/.well-known/openid-configuration`)
        expect({ status: discovery.status, issuer: ((await discovery.json()) as { issuer: string }).issuer }).toEqual({ status: 200, issuer: started.url })
        const token = await fetch(`${started.url}/v1/auth/authenticate`, { method: 'POST', headers: { Authorization: `Bearer ${created.key}` } })
        expect({ status: token.status, body: await token.json() }).toMatchObject({ status: 200, body: { access_token: expect.any(String) } })
      } finally {
        await started.stop()
      }
      await expect(fetch(`${started.url}/.well-known/openid-configuration`)).rejects.toThrow()
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('the packages from the installed project', () => {
  it('import from a plain Node ESM script, every entry of their exports', async () => {
    const out = await runOk(process.execPath, ['check-esm.mjs'], { cwd: project.dir })
    expect(JSON.parse(out)).toEqual({ ok: true, emulator: versionOf(join(project.dir, 'node_modules/@eyepop/emulator/package.json')) })
  })

  it('load with require() from CommonJS', async () => {
    // --no-warnings: Node 22 notes that require() of ES modules is experimental.
    const out = await runOk(process.execPath, ['--no-warnings', 'check-require.cjs'], { cwd: project.dir })
    expect(JSON.parse(out)).toEqual({ ok: true })
  })

  it("pass the project's vitest suite: the real EyePop Node SDK against an emulator started in process and through the harness, and the PostgreSQL store's subpath", async () => {
    const result = await run('npx', ['--no', '--', 'vitest', 'run', '--reporter=verbose'], { cwd: project.dir })
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
    // The suite ran what it names: a run that found no test file would fail above as well.
    expect(result.stdout).toMatch(/Tests +\d+ passed/)
    expect(result.stdout).toMatch(/harness\.test\.ts/)
    expect(result.stdout).toMatch(/postgres\.test\.ts/)
  })

  it.each(['node16', 'bundler'])('have types that resolve under moduleResolution %s', async (resolution) => {
    const result = await run('npx', ['--no', '--', 'tsc', '-p', `tsconfig.${resolution}.json`], { cwd: project.dir })
    expect({ code: result.code, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({ code: 0, output: '' })
  })
})
