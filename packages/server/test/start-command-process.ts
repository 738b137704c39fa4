// `npm start`'s script (packages/server/src/cli/start.ts) as a child process, for the tests of
// what its environment variables do. Spawned with node's tsx loader, so the PID held is the server.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');

export interface StartCommand {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/**
 * Runs the start command with `env` over the test's own: on 127.0.0.1, logging warnings only, and
 * with no OUTPOST_JWT_SECRET unless `env` gives one (so it makes and keeps its dev secret).
 */
export function spawnStartCommand(env: Record<string, string>): StartCommand {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli/start.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', OUTPOST_JWT_SECRET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

/** Resolves once it printed that it is running; throws with what it printed if it exits first or 30 s pass. */
export async function untilRunning(started: StartCommand): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!started.output().includes('is running on')) {
    if (started.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the start command did not start:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Its exit code, once it has exited (a start refused for a bad setting). */
export function exitCode(started: StartCommand): Promise<number | null> {
  if (started.child.exitCode !== null) return Promise.resolve(started.child.exitCode);
  return new Promise((done) => started.child.once('exit', done));
}

/** SIGTERM, as a supervisor stops it, and waits for it to exit. */
export async function stopCommand(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
