// vitest globalSetup: one PostgreSQL for the whole run, handed to test files as inject('postgresUrl').
import type { TestProject } from 'vitest/node';
import { postgresRequired, startPostgres } from './postgres-harness';
import type { RunningPostgres } from './postgres-harness';

declare module 'vitest' {
  export interface ProvidedContext {
    /** null when no PostgreSQL could be started and none is required: PostgreSQL tests skip. */
    postgresUrl: string | null;
  }
}

let running: RunningPostgres | undefined;

export async function setup({ provide }: TestProject): Promise<void> {
  const external = process.env.OUTPOST_TEST_DATABASE_URL;
  if (external) {
    provide('postgresUrl', external);
    return;
  }
  try {
    running = await startPostgres();
    provide('postgresUrl', running.url);
  } catch (error) {
    if (postgresRequired()) throw error;
    const message = error instanceof Error ? error.message : String(error);
    console.warn(
      `[postgres] could not start a test PostgreSQL; PostgreSQL tests will be skipped.\n${message}`,
    );
    provide('postgresUrl', null);
  }
}

export async function teardown(): Promise<void> {
  await running?.stop();
  running = undefined;
}
