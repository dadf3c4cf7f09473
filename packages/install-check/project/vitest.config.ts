import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Every test/*.test.ts runs. The harness's file (test/harness.test.ts, with
    // `@eyepop/emulator/testing`) goes beside sdk.test.ts once the package exports it.
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
