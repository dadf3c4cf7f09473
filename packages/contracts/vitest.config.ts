import { defineConfig } from 'vitest/config'

/**
 * Two projects, run as two turbo tasks in this order (`test:consumer`, then `test:provider`): the
 * consumer suites write `pacts/`, the provider verification reads it. The default `forks` pool
 * suits pact's native library; `vmThreads` does not.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'consumer',
          include: ['consumers/**/*.pact.test.ts'],
          globalSetup: ['consumers/clean-pacts.ts'],
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'provider',
          include: ['provider/**/*.verify.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
})
