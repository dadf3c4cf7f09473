import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 15_000,
    // Hooks start and stop real servers (PostgreSQL's pg_ctl, emulator processes, Chromium): on a
    // busy 2-core machine they can pass vitest's default of 10 s, which fails the file.
    hookTimeout: 60_000,
  },
})
