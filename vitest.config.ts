import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.{ts,tsx}',
      'packages/*/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'sim/**/*.test.ts',
    ],
    // One throwaway PostgreSQL for the whole run; test files get its URL through vitest's inject('postgresUrl').
    globalSetup: ['packages/server/test/postgres-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files run two at a time so the PostgreSQL under test is not starved.
    maxWorkers: 2,
  },
});
