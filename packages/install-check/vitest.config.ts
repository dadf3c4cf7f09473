import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installing the tarballs (better-sqlite3 compiles on install) takes a minute or two on a
    // small machine; each step after it runs a command in the installed project.
    hookTimeout: 600_000,
    testTimeout: 120_000,
  },
})
