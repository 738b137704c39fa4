// One of the server's commands (`packages/server/src/cli/*.ts`) run as an operator runs it through
// npm: a child process from the project's root, its output collected whole.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `packages/server/src/cli/<script>.ts` with `args`, its environment the test's own with
 * DATABASE_URL and OUTPOST_JWT_SECRET emptied, then `env` over it.
 */
export function runCommand(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<Ran> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', `packages/server/src/cli/${script}.ts`, ...args],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: '', OUTPOST_JWT_SECRET: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })));
}
