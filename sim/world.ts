/**
 * One seeded run: a server on SQLite and a few devices in two tenants (a clinic on field-clinic,
 * a veterinary practice on vet-practice) under a random schedule of local writes and faults, then
 * healing, a final sync round and the five invariants. Everything random comes from the seed;
 * the trace hash fingerprints every event and every server answer, so a replay can be proven.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conflictListResponseSchema, rejectionListResponseSchema } from '@outpost/core';
import type { RecordData, Rejection, Schema } from '@outpost/core';
import { isRefused } from '@outpost/client';
import type { SyncClient } from '@outpost/client';
import { openSqlite } from '@outpost/server';
import type { Database, StoredOp, StoredRejection } from '@outpost/server';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { Device } from './device';
import type { DeviceProfile } from './device';
import { ServerHistory } from './history';
import { convergence, exactlyOnce, immutability, noByDesign, noLostWrite, references } from './invariants';
import type { ByDesign, DeviceFinal, FinalState, ServerRecordState, TenantFinal } from './invariants';
import { Ledger } from './ledger';
import { SimNetwork, calm, noFaults } from './network';
import type { FaultCounts, FaultRates } from './network';
import { Prng } from './prng';
import { Scheduler } from './scheduler';
import { ServerHost } from './server-host';
import type { Violation } from './violation';
import { firstChoice } from './record-filters';
import { localWrite, noWrites } from './workload';
import type { WriteFigures } from './workload';

export interface SimOptions {
  seed: number;
  /** Actions in the schedule before healing. */
  steps?: number;
  /** Opens the run's database (again on each server restart). Default: a SQLite file in a temp folder. */
  database?: { open(): Promise<Database>; destroy(): Promise<void> };
  /** Keep the trace lines, not only their hash (for a person replaying a seed). */
  keepTrace?: boolean;
  /** Called before each event with the devices: for a person chasing a failing seed. */
  inspect?: (at: number, devices: readonly Device[]) => void;
  /**
   * Devices may keep the server's live stream open (each by an even chance). Default on; off
   * replays a seed as runs did before live updates (the regression seeds were recorded so).
   */
  live?: boolean;
  /**
   * About a third of the devices keep only part of some collections (`recordFilter`), and may
   * open again with another filter. Default on; off replays a seed as runs were before filters
   * (the regression seeds found before them).
   */
  filters?: boolean;
}

export interface SeedReport {
  seed: number;
  traceHash: string;
  trace?: string[];
  violations: Violation[];
  faults: FaultCounts;
  writes: WriteFigures;
  byDesign: ByDesign;
  figures: {
    devices: number;
    requests: number;
    serverRequests: number;
    opsMade: number;
    conflicts: number;
    resolutions: number;
    retriedByHand: number;
    events: number;
    virtualMs: number;
    /** Devices that kept part of their records at some time of the run. */
    filteredDevices: number;
    /** Openings of a device with another record filter than before (narrower, wider or none). */
    filterChanges: number;
  };
}

export const defaultSteps = 60;
const start = Date.UTC(2026, 0, 12, 7, 30, 0);
const hour = 60 * 60 * 1000;
const tenants: Record<string, Schema> = { 'clinic-a': fieldClinic, 'vet-a': vetPractice };

function sqliteIn(dir: string) {
  return {
    open: () => openSqlite(join(dir, 'outpost.sqlite')),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A folder for the run's SQLite file: memory-backed where the machine has one (fsync costs nothing there). */
function scratchDir(): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(join(base, 'outpost-sim-'));
}

function faultRates(r: Prng): FaultRates {
  // Each run draws its own weather: some calm, some stormy.
  const storm = r.float();
  return {
    requestDropped: 0.08 * storm,
    responseDropped: 0.08 * storm,
    duplicated: 0.05 * storm,
    reordered: 0.05 * storm,
    delayed: 0.05 * storm,
  };
}

function profiles(r: Prng): DeviceProfile[] {
  const out: DeviceProfile[] = [];
  const clinic = r.int(2, 3);
  const vet = r.int(1, 2);
  const make = (tenant: string, i: number, admin: boolean, user: string): DeviceProfile => ({
    name: `${tenant === 'clinic-a' ? 'tablet' : 'laptop'}-${i}`,
    tenant,
    userId: user,
    roles: [admin ? 'admin' : 'clinician'],
    schema: tenants[tenant] as Schema,
    skewMs: r.chance(0.5) ? (r.chance(0.5) ? -1 : 1) * r.int(1, 6 * 60) * 60_000 : 0,
    batchSize: r.int(2, 20),
    pullLimit: r.int(3, 50),
    syncAfterWrite: r.chance(0.5),
  });
  for (let i = 1; i <= clinic; i++) {
    const admin = i === clinic && r.chance(0.6);
    // Now and then one nurse works on two tablets.
    const user = admin ? 'admin-a' : i > 1 && r.chance(0.25) ? 'nurse-a1' : `nurse-a${i}`;
    out.push(make('clinic-a', i, admin, user));
  }
  for (let i = 1; i <= vet; i++) {
    const admin = i === vet && r.chance(0.5);
    out.push(make('vet-a', i, admin, admin ? 'admin-v' : `vet-${i}`));
  }
  return out;
}

export async function runSeed(options: SimOptions): Promise<SeedReport> {
  const root = new Prng(options.seed);
  const scheduleRng = root.fork();
  const networkRng = root.fork();
  const serverRng = root.fork();
  const setupRng = root.fork();
  // Drawn last, so adding it left every earlier stream (and so every seed's day) as it was.
  const healingRng = root.fork();
  // The same for live updates: which devices keep the stream open, and what happens on it.
  const liveRng = root.fork();
  const liveNetworkRng = liveRng.fork();
  // And for record filters: which devices keep part of their records, and when that changes.
  const filterRng = root.fork();
  const filtering = options.filters !== false;
  const steps = options.steps ?? defaultSteps;
  const hash = createHash('sha256');
  const trace: string[] | undefined = options.keepTrace ? [] : undefined;
  const line = (text: string) => {
    hash.update(text);
    hash.update('\n');
    trace?.push(text);
  };

  const scheduler = new Scheduler(start);
  const devices: Device[] = [];
  scheduler.onEvent = (at, label) => {
    line(`${at - start} ${label}`);
    options.inspect?.(at - start, devices);
  };
  const dir = options.database ? null : scratchDir();
  const database = options.database ?? sqliteIn(dir as string);
  const host = new ServerHost({
    schema: fieldClinic,
    tenantSchemas: tenants,
    openDatabase: () => database.open(),
    now: () => scheduler.now,
    random: serverRng,
  });
  const faults = noFaults();
  const history = new ServerHistory((t) => tenants[t] ?? fieldClinic);
  const ledger = new Ledger();
  const network = new SimNetwork(
    scheduler,
    host,
    networkRng,
    faultRates(setupRng),
    faults,
    async (req, reply, sender) => {
      line(
        `  ${sender.device} ${req.method} ${req.url} ${req.body ?? ''}\n    -> ${reply.status} ${reply.body}`,
      );
      await history.observe(host.instance.outpost.store, sender.tenant, req, reply, Object.keys(tenants));
    },
    liveNetworkRng,
  );
  const writes = noWrites();
  const figures: SeedReport['figures'] = {
    devices: 0,
    requests: 0,
    serverRequests: 0,
    opsMade: 0,
    conflicts: 0,
    resolutions: 0,
    retriedByHand: 0,
    events: 0,
    virtualMs: 0,
    filteredDevices: 0,
    filterChanges: 0,
  };
  const violations: Violation[] = [];
  try {
    await host.start();
    for (const drawn of profiles(setupRng)) {
      const profile = {
        ...drawn,
        live: options.live !== false && liveRng.chance(0.5),
        ...(filtering ? { filter: firstChoice(filterRng, drawn.tenant) } : {}),
      };
      if (profile.skewMs !== 0) faults.clockSkew += 1;
      const token = await host.token({
        userId: profile.userId,
        tenant: profile.tenant,
        roles: profile.roles,
      });
      devices.push(
        new Device(profile, {
          scheduler,
          network,
          random: setupRng.fork(),
          token,
          onCommit: (device, batch) => ledger.observe(device, batch),
          ...(filtering ? { filterRandom: filterRng.fork() } : {}),
        }),
      );
    }
    figures.devices = devices.length;
    for (const d of devices) await d.open();

    await runSchedule({ scheduler, host, devices, scheduleRng, steps, writes, faults, figures });

    // Healing: the weather clears, every device is on and online, the server is up.
    network.rates = calm;
    if (!host.up) await host.start();
    for (const d of devices) {
      if (!d.client) await d.open();
      d.setLink(true);
    }
    // People press "retry" on what their device gave up on: at once, as the network returns, and
    // again once the devices have had a quarter of an hour to catch up by themselves.
    for (const d of devices) figures.retriedByHand += await (d.client as SyncClient).queue.retry();
    await scheduler.runUntil(scheduler.now + 15 * 60_000);
    // Some refused changes have been read by now: their people dismiss them on the device.
    for (const d of devices) await dismissSome(healingRng, scheduler, d, ledger);
    for (const d of devices) figures.retriedByHand += await (d.client as SyncClient).queue.retry();
    violations.push(...(await finalRounds(scheduler, devices)));

    const final = await finalState(host, devices, ledger, history);
    const byDesign = noByDesign();
    violations.push(
      ...convergence(final, byDesign),
      ...noLostWrite(final, byDesign),
      ...exactlyOnce(final),
      ...immutability(final),
      ...references(final, byDesign),
    );
    figures.requests = network.requests;
    figures.serverRequests = network.delivered;
    figures.opsMade = ledger.ops.size;
    figures.conflicts = [...final.tenants.values()].reduce((n, t) => n + t.archive.length, 0);
    figures.events = scheduler.eventsRun;
    figures.virtualMs = scheduler.now - start;
    figures.filteredDevices = devices.filter((d) => d.keptPart).length;
    figures.filterChanges = devices.reduce((n, d) => n + d.filterChanges, 0);
    for (const v of violations) line(`violation ${v.invariant}: ${v.message}`);
    return {
      seed: options.seed,
      traceHash: hash.digest('hex').slice(0, 16),
      ...(trace ? { trace } : {}),
      violations,
      faults,
      writes,
      byDesign,
      figures,
    };
  } finally {
    for (const d of devices) d.crash();
    await host.stop();
    await database.destroy();
  }
}

interface ScheduleContext {
  scheduler: Scheduler;
  host: ServerHost;
  devices: Device[];
  scheduleRng: Prng;
  steps: number;
  writes: WriteFigures;
  faults: FaultCounts;
  figures: SeedReport['figures'];
}

/** The working day: `steps` actions a few seconds to a few minutes apart. */
async function runSchedule(ctx: ScheduleContext): Promise<void> {
  const { scheduler, host, devices, scheduleRng: r, writes, faults, figures } = ctx;
  let at = scheduler.now;
  for (let i = 0; i < ctx.steps; i++) {
    at += r.int(500, 90_000);
    scheduler.at(at, `step ${i}`, async () => {
      const device = r.pick(devices);
      const client = device.client;
      const action = r.weighted({
        write: 60,
        sync: 8,
        linkDown: 6,
        restartClient: 4,
        restartServer: 2,
        resolve: 5,
        retry: 2,
      });
      if (action === 'restartServer') {
        if (!host.up) return;
        faults.serverRestart += 1;
        await host.stop();
        scheduler.after(r.int(500, 20_000), 'server starts', async () => {
          if (!host.up) await host.start();
        });
        return;
      }
      if (action === 'linkDown') {
        if (!device.linkUp) return;
        faults.linkDown += 1;
        device.setLink(false);
        scheduler.after(r.int(5_000, 15 * 60_000), `${device.name} link up`, () => device.setLink(true));
        return;
      }
      if (!client) return;
      if (action === 'restartClient') {
        faults.clientRestart += 1;
        device.crash();
        scheduler.after(r.int(200, 60_000), `${device.name} opens`, async () => {
          if (!device.client) await device.open();
        });
        return;
      }
      if (action === 'sync') {
        void client.sync();
        return;
      }
      if (action === 'retry') {
        await client.queue.retry();
        return;
      }
      if (action === 'resolve') {
        await resolveOne(r, client, figures);
        return;
      }
      await localWrite(r, client, writes);
    });
  }
  await scheduler.runUntil(at + 1);
}

/**
 * An administrator settles one of the open conflicts their device knows of, or undoes a settlement.
 * Half the time they have the Conflicts page fetch the archive first (not awaited: it takes
 * simulated time), so later settlements include conflicts other devices raised.
 */
async function resolveOne(r: Prng, client: SyncClient, figures: SeedReport['figures']): Promise<void> {
  if (!client.schema.collectionNames.some((c) => client.schema.can(['admin'], c, 'resolve'))) return;
  if (r.chance(0.5)) void client.conflicts.refresh().catch(() => 0);
  const open = client.conflicts.list({ status: 'open' });
  const resolved = client.conflicts.list({ status: 'resolved' });
  const settle = (p: Promise<unknown>) => {
    figures.resolutions += 1;
    // The answer may be lost like any other; a refusal (403 for a clinician, 409) is the server's word.
    p.catch(() => undefined);
  };
  if (open.length > 0) {
    const c = r.pick(open);
    const strategy = r.weighted({ 'server-wins': 1, 'client-wins': 1, 'last-write-wins': 1, merge: 1 });
    if (strategy === 'merge') {
      const merged: RecordData = { ...(c.summary.server?.data ?? {}), ...(c.summary.client?.data ?? {}) };
      settle(client.conflicts.resolve(c.id, 'merge', merged));
    } else settle(client.conflicts.resolve(c.id, strategy));
  } else if (resolved.length > 0 && r.chance(0.3)) {
    settle(client.conflicts.undo(r.pick(resolved).id));
  }
}

/**
 * A person dismisses about half of the changes the server refused on their device (`queue.discard`),
 * as after reading them on the Sync details page. The device then shows the server's copy, which
 * convergence checks; the ledger learns the ops were dismissed, not folded, so "no lost write"
 * checks that the server's archive still holds them.
 */
async function dismissSome(r: Prng, scheduler: Scheduler, device: Device, ledger: Ledger): Promise<void> {
  const client = device.client as SyncClient;
  const refused = client.queue.list().filter(isRefused);
  const chosen = refused.filter(() => r.chance(0.5));
  if (chosen.length === 0) return;
  const dismissal = ledger
    .dismissing(device.name, chosen, () => client.queue.discard(chosen.map((o) => o.seq)))
    // The server's copy could not be read: nothing changed, as the client promises.
    .catch(() => 0);
  await scheduler.runWhile(dismissal, hour);
}

/** Sync rounds until a whole round moves nothing: every device then holds what the server holds. */
async function finalRounds(scheduler: Scheduler, devices: Device[]): Promise<Violation[]> {
  for (let round = 0; round < 8; round++) {
    let quiet = true;
    for (const d of devices) {
      const client = d.client as SyncClient;
      const run = await scheduler.runWhile(client.sync(), hour);
      if (!run.settled || !run.value) {
        return [
          { invariant: 'liveness', message: `${d.name}: a sync did not finish within an hour of healing` },
        ];
      }
      const { value } = run;
      if (!value.success || value.pushed.sent > 0 || value.pulled > 0) quiet = false;
    }
    if (quiet) return [];
  }
  return [
    { invariant: 'liveness', message: 'eight sync rounds after healing and the devices still move data' },
  ];
}

/** Every item of an archive route, page by page, as the token's user may list it. */
async function listAll<P extends { nextCursor: string | null }, T>(
  host: ServerHost,
  token: string,
  route: string,
  schema: { parse(value: unknown): P },
  items: (page: P) => T[],
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const reply = await host.handle({
      method: 'GET',
      url: `${route}?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      headers: { authorization: `Bearer ${token}` },
    });
    const page = schema.parse(JSON.parse(reply.body));
    out.push(...items(page));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

async function finalState(
  host: ServerHost,
  devices: Device[],
  ledger: Ledger,
  history: ServerHistory,
): Promise<FinalState> {
  const store = host.instance.outpost.store;
  const finals = new Map<string, TenantFinal>();
  for (const [tenant, schema] of Object.entries(tenants)) {
    const records = new Map<string, ServerRecordState>();
    for (const r of (await store.pull(tenant, 0, 1_000_000)).records) {
      records.set(`${r.collection}\u0000${r.id}`, {
        collection: r.collection,
        id: r.id,
        version: r.version,
        deleted: r.deleted,
        data: r.deleted ? null : (JSON.parse(r.dataJson) as RecordData),
        hlc: r.hlc,
        updatedAt: r.updatedAt,
      });
    }
    const journal = new Map<string, StoredOp>();
    for (const op of await store.opLog(tenant, 1_000_000)) journal.set(op.opId, op);
    const archive = await store.listConflicts(
      tenant,
      {},
      { userId: '', resolvable: schema.collectionNames, readable: schema.collectionNames },
      { limit: 1_000_000 },
    );
    const rejections = new Map<string, StoredRejection>();
    const refused = await store.listRejections(
      tenant,
      {},
      { userId: '', resolvable: schema.collectionNames, readable: schema.collectionNames },
      { limit: 1_000_000 },
    );
    for (const r of refused) rejections.set(r.opId, r);
    finals.set(tenant, { tenant, schema, records, journal, archive, rejections });
  }
  const deviceFinals: DeviceFinal[] = [];
  for (const d of devices) {
    const token = await host.token({
      userId: d.profile.userId,
      tenant: d.profile.tenant,
      roles: d.profile.roles,
    });
    const visible = new Set<string>();
    for (const c of await listAll(
      host,
      token,
      '/v1/conflicts',
      conflictListResponseSchema,
      (p) => p.conflicts,
    ))
      visible.add(c.opId);
    const visibleRejections = new Map<string, Rejection>();
    for (const r of await listAll(
      host,
      token,
      '/v1/rejections',
      rejectionListResponseSchema,
      (p) => p.rejections,
    ))
      visibleRejections.set(r.opId, r);
    deviceFinals.push({
      name: d.name,
      tenant: d.profile.tenant,
      ...(d.recordFilter ? { recordFilter: d.recordFilter } : {}),
      snapshot: await d.snapshot(),
      visibleConflictOpIds: visible,
      visibleRejections,
    });
  }
  return { tenants: finals, devices: deviceFinals, ledger, history };
}
