import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The smoke run starts real processes (emulators, baselines, load generators).
    testTimeout: 60_000,
  },
})
