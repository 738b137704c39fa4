import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // One throwaway PostgreSQL for the whole run; its URL reaches the tests through the environment.
    globalSetup: ['packages/server/test/postgres-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files run two at a time so the PostgreSQL under test is not starved.
    maxWorkers: 2,
  },
});
