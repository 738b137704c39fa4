// One server at a time on a fixed port and database, killed and started again: each start is a
// new generation, and devices wait for the next one after a push of theirs went unanswered.
import { ServerProcess } from './server-process';
import type { ServerProcessOptions } from './server-process';

/** What a device needs to know about the server it pushes to. */
export interface ServerLink {
  readonly baseUrl: string;
  /** The generation answering now, or null while none is (killed, or still starting). */
  readonly current: number | null;
  /** Resolves with the generation answering once one of at least `generation` does. */
  up(generation: number): Promise<number>;
}

const startTimeoutMs = 30_000;

export class RestartingServer implements ServerLink {
  readonly baseUrl: string;
  current: number | null = null;
  /** Milliseconds from spawn to the first health answer, per completed start. */
  readonly startTimes: number[] = [];
  private generation = 0;
  private process: ServerProcess | null = null;
  private waiters: Array<{ generation: number; resolve: (generation: number) => void }> = [];

  constructor(private readonly options: ServerProcessOptions) {
    this.baseUrl = `http://127.0.0.1:${options.port}`;
  }

  /** Whether a server process is alive, answering or not. */
  get running(): boolean {
    return this.process?.running ?? false;
  }

  up(generation: number): Promise<number> {
    if (this.current !== null && this.current >= generation) return Promise.resolve(this.current);
    return new Promise((resolve) => this.waiters.push({ generation, resolve }));
  }

  /** Starts the next generation and resolves once it answers /v1/health (a failure to start throws). */
  async start(): Promise<void> {
    const started = Date.now();
    const server = this.spawnNext();
    await server.waitUntilHealthy(this.baseUrl, startTimeoutMs);
    this.startTimes.push(Date.now() - started);
    this.markUp(server);
  }

  /**
   * Starts the next generation and kills it once `moment` resolves, whether it is still starting
   * (migrations, demo users and records) or already serving. Resolves whether it had answered.
   */
  async startAndKill(moment: () => Promise<void>): Promise<boolean> {
    const started = Date.now();
    const server = this.spawnNext();
    let answered = false;
    const health = server.waitUntilHealthy(this.baseUrl, startTimeoutMs).then(
      () => {
        answered = true;
        this.startTimes.push(Date.now() - started);
        if (this.process === server && server.running) this.markUp(server);
      },
      () => undefined,
    );
    await moment();
    await this.kill();
    await health;
    return answered;
  }

  /** Stops the running server where it is (SIGSTOP) until `thaw` or `kill`. */
  freeze(): void {
    this.process?.freeze();
  }

  thaw(): void {
    this.process?.thaw();
  }

  /** SIGKILL to the running server's own PID; devices see it as down before the signal is sent. */
  async kill(): Promise<void> {
    this.current = null;
    await this.process?.kill();
  }

  private spawnNext(): ServerProcess {
    if (this.process?.running) throw new Error('a server is still running');
    this.generation += 1;
    this.process = ServerProcess.spawn(this.options);
    return this.process;
  }

  private markUp(server: ServerProcess): void {
    if (this.process !== server) return;
    this.current = this.generation;
    const ready = this.waiters.filter((w) => w.generation <= this.generation);
    this.waiters = this.waiters.filter((w) => w.generation > this.generation);
    for (const w of ready) w.resolve(this.generation);
  }
}
