// The real `npm start` server as a child process: spawned with node's tsx loader (not the tsx
// binary, which would run the server as a grandchild that a SIGKILL of its PID leaves running),
// so the PID we hold is the server itself and a kill is a kill of the whole server.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../../..');
/** Enough to show why a start failed without keeping a long run's whole log. */
const keptOutputChars = 20_000;

export interface ServerProcessOptions {
  port: number;
  databaseUrl: string;
  jwtSecret: string;
  /** The data folder the start command may write to; with DATABASE_URL set it stays empty. */
  dataDir: string;
}

export class ServerProcess {
  private readonly child: ChildProcess;
  private readonly exit: Promise<void>;
  private log = '';
  private killed = false;

  private constructor(child: ChildProcess) {
    this.child = child;
    // Should the test runner itself exit early, the server must not outlive it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    this.exit = new Promise((done) =>
      child.once('exit', () => {
        process.off('exit', killOnExit);
        done();
      }),
    );
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-keptOutputChars);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static spawn(options: ServerProcessOptions): ServerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli/start.ts'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(options.port),
        HOST: '127.0.0.1',
        DATABASE_URL: options.databaseUrl,
        OUTPOST_JWT_SECRET: options.jwtSecret,
        OUTPOST_DATA: options.dataDir,
        OUTPOST_SCHEMA: 'field-clinic',
        OUTPOST_TENANT_SCHEMAS: 'vet-a=vet-practice',
        // The client pushes as fast as it can; the per-user limit is not what this run is about.
        OUTPOST_RATE_LIMIT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServerProcess(child);
  }

  /** False from the moment a kill is asked for: a health answer arriving after it means nothing. */
  get running(): boolean {
    return !this.killed && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Polls /v1/health until it answers; fails with the server's output if it exits or never does. */
  async waitUntilHealthy(baseUrl: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        throw new Error(`the server exited (${this.describeExit()}) before it answered:\n${this.log}`);
      }
      try {
        const res = await fetch(`${baseUrl}/v1/health`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`the server did not answer /v1/health within ${timeoutMs} ms:\n${this.log}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * SIGSTOP: the server stops where it is, mid-request or not, while PostgreSQL goes on with what
   * it was already sent (a COMMIT completes). SIGCONT lets it go on; SIGKILL ends it stopped.
   */
  freeze(): void {
    if (this.running) this.child.kill('SIGSTOP');
  }

  thaw(): void {
    if (this.running) this.child.kill('SIGCONT');
  }

  /**
   * SIGKILL to this server's own PID, then waits until it is reaped. Until Node reaps a child its
   * PID cannot be reused, so a child not yet seen exiting is still the process we started.
   */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    this.killed = true;
    await this.exit;
  }

  private describeExit(): string {
    return this.child.signalCode ?? `code ${this.child.exitCode}`;
  }
}
