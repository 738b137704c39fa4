// When the crash test pulls the plug. Four kinds of moment, drawn from the seeded schedule:
// - start-up: while the server is still loading, migrating, creating demo users or seeding demo
//   records (the very first start on the empty database is killed once its migrations began);
// - mid-push: a push is on its way, and the kill fires within about a push's usual duration, so
//   it lands before, during or after the commit;
// - after-commit: the push's first op is in the op journal, which is written in the push's own
//   transaction (decisions/0004), so the push has committed, and the server, frozen, has not sent
//   its response: the lost response a client must retry without the server applying anything twice;
// - any moment: a plain timer, whatever is happening.
// Each kill is labelled by what was true when the signal went out, not by what was planned.
import type { Client } from 'pg';
import type { PushingDevice } from './pushing-device';
import type { RestartingServer } from './restarting-server';
import type { Random } from './seeded-random';

export type KillKind = 'start-up' | 'after-commit' | 'mid-push' | 'between';

export interface Kill {
  kind: KillKind;
  pushesInFlight: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** How long to wait for a push to start or commit before killing anyway. */
const patienceMs = 3_000;
/** How long a response already written when the server froze may take to reach its device. */
const responseGraceMs = 100;

export class KillMoments {
  constructor(
    private readonly live: RestartingServer,
    private readonly devices: readonly PushingDevice[],
    /** A connection of the test's own to the server's database, to watch the op journal. */
    private readonly journal: Client,
    private readonly random: Random,
  ) {}

  /** Starts the next server and kills it while it may still be starting. */
  startUp(): Promise<Kill> {
    return this.startAndKill(() => sleep(this.random.int(150, 1_500)));
  }

  /** Starts the first server on the empty database and kills it a moment after its migrations began. */
  firstStart(): Promise<Kill> {
    return this.startAndKill(async () => {
      const deadline = Date.now() + patienceMs * 10;
      const table = "select 1 from pg_tables where tablename = 'outpost_migrations'";
      while (!(await this.journal.query(table)).rowCount && Date.now() < deadline) await sleep(2);
      await sleep(this.random.int(0, 60));
    });
  }

  async midPush(): Promise<Kill> {
    await this.serving();
    await sleep(this.random.int(0, 200));
    const pushing = await this.pushInFlight();
    if (pushing) await sleep(this.random.next() * 1.3 * pushing.typicalLatencyMs());
    return this.kill(false);
  }

  /**
   * Aims at a push of `device` when given, else of any device. Between a push's commit and its
   * response lies well under a millisecond (the harness's PostgreSQL commits without fsync), too
   * little to hit by watching the journal from outside. So while the push runs, the server is
   * frozen (SIGSTOP) again and again, for as long as one look at the journal takes. Frozen after
   * its commit became visible and before its response was written, it is killed where it stands:
   * that response can never come. A push that answers first gives way to the device's next one.
   */
  async afterCommit(device?: PushingDevice): Promise<Kill> {
    await this.serving();
    await sleep(this.random.int(0, 200));
    const deadline = Date.now() + patienceMs * 3;
    while (Date.now() < deadline) {
      const pushing = await this.pushInFlight(device);
      const flight = pushing?.inFlight;
      if (!pushing || !flight) break;
      while (pushing.inFlight === flight && Date.now() < deadline) {
        this.live.freeze();
        try {
          if (await this.committed(pushing.tenant, flight.firstOpId)) {
            // A response written just before the freeze still reaches the device: let it.
            await sleep(responseGraceMs);
            if (pushing.inFlight === flight) return await this.kill(true);
            break;
          }
        } finally {
          this.live.thaw();
        }
        // Let the server run a moment: sometimes only what is already due, sometimes a millisecond.
        await (this.random.next() < 0.5 ? new Promise<void>((r) => setImmediate(r)) : sleep(1));
      }
    }
    return this.kill(false);
  }

  async anyMoment(): Promise<Kill> {
    await this.serving();
    await sleep(this.random.int(20, 600));
    return this.kill(false);
  }

  private async committed(tenant: string, opId: string): Promise<boolean> {
    const found = await this.journal.query('select 1 from ops where tenant = $1 and op_id = $2', [
      tenant,
      opId,
    ]);
    return (found.rowCount ?? 0) > 0;
  }

  private async startAndKill(moment: () => Promise<void>): Promise<Kill> {
    let pushesInFlight = 0;
    const answered = await this.live.startAndKill(async () => {
      await moment();
      pushesInFlight = this.inFlightNow().length;
    });
    if (!answered) return { kind: 'start-up', pushesInFlight };
    return { kind: pushesInFlight > 0 ? 'mid-push' : 'between', pushesInFlight };
  }

  private async serving(): Promise<void> {
    if (!this.live.running) await this.live.start();
  }

  private inFlightNow(): PushingDevice[] {
    return this.devices.filter((d) => d.inFlight !== null && d.inFlight.generation === this.live.current);
  }

  /** A device with a push in flight to the server now answering: `device` if given, else any. */
  private async pushInFlight(device?: PushingDevice): Promise<PushingDevice | undefined> {
    const deadline = Date.now() + patienceMs;
    for (;;) {
      const pushing = this.inFlightNow().filter((d) => device === undefined || d === device);
      if (pushing.length > 0) return this.random.pick(pushing);
      if (Date.now() > deadline) return undefined;
      await sleep(1);
    }
  }

  private async kill(committedUnanswered: boolean): Promise<Kill> {
    const pushesInFlight = this.inFlightNow().length;
    await this.live.kill();
    const kind = committedUnanswered ? 'after-commit' : pushesInFlight > 0 ? 'mid-push' : 'between';
    return { kind, pushesInFlight };
  }
}
