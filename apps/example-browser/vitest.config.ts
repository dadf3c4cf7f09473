import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Launching Chromium takes a few seconds on a small machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
