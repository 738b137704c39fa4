// The crash test (issue 7): the real server as a child process on real PostgreSQL, two devices
// pushing continuously over HTTP, and the server killed with SIGKILL at seeded random moments (in
// the middle of pushes, between them, and while it is still starting) and started again on the
// same database. Afterwards: no acknowledged op lost, none applied twice, every op whose response
// was lost applied exactly once after its retry. OUTPOST_CRASH_SEED=<n> replays a schedule.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { HlcClock, isTempId } from '@outpost/core';
import { vetPracticeDemoRecords } from '@outpost/examples';
import type { Change, PullResponse, RecordData, StatusResponse } from '@outpost/core';
import { OpLedger } from './crash/op-ledger';
import type { LocalRecord } from './crash/op-ledger';
import { PushingDevice } from './crash/pushing-device';
import { RestartingServer } from './crash/restarting-server';
import { seededRandom } from './crash/seeded-random';
import type { Random } from './crash/seeded-random';
import { KillMoments } from './crash/kill-moments';
import type { Kill, KillKind } from './crash/kill-moments';
import { freePort } from './free-port';
import { clinicWorkload, vetWorkload } from './crash/workloads';
import type { Workload } from './crash/workloads';
import { freshPostgresDatabase } from './postgres';
import { dialects } from './server-fixture';

const seed = Number(process.env['OUTPOST_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const kills = Math.max(20, Number(process.env['OUTPOST_CRASH_KILLS'] ?? 22));
const demoPassword = 'outpost-demo';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!dialects().includes('postgres'))('crash test on PostgreSQL', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'outpost-crash-'));
  let server: RestartingServer | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await server?.kill();
    await dropDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`loses no acknowledged op and applies none twice across ${kills} SIGKILLs of the server`, async () => {
    const began = Date.now();
    console.log(`crash test seed ${seed} (OUTPOST_CRASH_SEED=${seed} replays this schedule)`);
    const schedule = seededRandom(seed);
    const database = await freshPostgresDatabase();
    dropDatabase = database.drop;
    const live = new RestartingServer({
      port: await freePort(),
      databaseUrl: database.url,
      jwtSecret: 'crash-test-secret-long-enough-for-hs256',
      dataDir,
    });
    server = live;

    // The kills, at moments drawn from the schedule (crash/kill-moments.ts). The very first start
    // is killed too, while it migrates the empty database or creates the demo users.
    const devices: PushingDevice[] = [];
    const journal = new Client({ connectionString: database.url });
    await journal.connect();
    const moments = new KillMoments(live, devices, journal, schedule);
    const killed: Kill[] = [];
    let running: Array<Promise<void>> = [];
    try {
      killed.push(await moments.firstStart());
      await live.start();
      devices.push(
        await signIn(live, {
          name: 'clinic-tablet',
          email: 'nurse@clinic-a.test',
          workload: clinicWorkload,
          batchSize: [1, 60],
          random: seededRandom(seed + 1),
        }),
        await signIn(live, {
          name: 'vet-laptop',
          email: 'vet@vet-a.test',
          workload: vetWorkload,
          batchSize: [1, 40],
          random: seededRandom(seed + 2),
        }),
      );
      running = devices.map((d) => d.run());
      // Each device must lose the response to a push that committed, or the run proves nothing
      // about that retry: after-commit kills aim first at a device that has not yet.
      const unproven = () => devices.find((d) => !foundApplied(d));
      while (killed.length < kills) {
        const roll = schedule.next();
        if (roll < 0.1 && !live.running) killed.push(await moments.startUp());
        else if (roll < 0.4) killed.push(await moments.afterCommit(unproven()));
        else if (roll < 0.8) killed.push(await moments.midPush());
        else killed.push(await moments.anyMoment());
      }
      // The schedule rarely misses one; then a few more kills aim for it.
      for (let extra = 0; extra < 8 && unproven(); extra++) {
        await live.start();
        await retriesAnswered(devices);
        const missing = unproven();
        if (missing) killed.push(await moments.afterCommit(missing));
      }
    } finally {
      await journal.end();
      // On a failure the devices would wait for a server forever.
      for (const d of devices) d.stop();
    }

    // A last start that stays up: the devices retry what went unanswered, then stop.
    if (!live.running) await live.start();
    await Promise.all(running);

    const figures = [];
    for (const d of devices) {
      const duplicatesOnRetry = d.duplicatesSeen;
      const duplicatesOnResend = await d.resendEverything(500);
      const pulled = await pullEverything(d);
      checkServerState(d, pulled);
      const status = await d.get<StatusResponse>(`/v1/sync/status?deviceId=${d.name}`);
      const ops = d.ledger.ops();
      // The op journal holds each op once, applied; it counted at least the duplicates we saw
      // (more when the answer to a retry was itself lost).
      const { applied, conflict, rejected, duplicate } = status.ops;
      if (applied !== ops.length || conflict !== 0 || rejected !== 0 || duplicate < d.duplicatesSeen) {
        d.problem(`/v1/sync/status counts ${JSON.stringify(status.ops)} for ${ops.length} ops sent`);
      }
      const lost = d.ledger.batches.filter((b) => b.lostAttempts > 0);
      figures.push({
        device: d.name,
        ops: ops.length,
        pushes: d.ledger.batches.length,
        acknowledgedFirstTime: d.ledger.batches
          .filter((b) => b.lostAttempts === 0)
          .reduce((n, b) => n + b.ops.length, 0),
        sentUnacknowledged: lost.reduce((n, b) => n + b.ops.length, 0),
        lostPushes: lost.length,
        lostPushesFoundApplied: lost.filter((b) => b.retryAnswer === 'duplicate').length,
        duplicatesOnRetry,
        duplicatesOnResend,
        records: d.ledger.records.length,
      });
    }
    const problems = devices.flatMap((d) => d.problems);
    const seconds = ((Date.now() - began) / 1000).toFixed(1);
    const meanStartMs = Math.round(live.startTimes.reduce((a, b) => a + b, 0) / live.startTimes.length);
    const count = (kind: KillKind) => killed.filter((k) => k.kind === kind).length;
    console.log(
      [
        `crash test seed ${seed}: ${killed.length} SIGKILLs (${count('after-commit')} after a push committed ` +
          `and before its response, ${count('mid-push')} otherwise with a push in flight, ` +
          `${count('between')} between pushes, ${count('start-up')} during start-up), ` +
          `${live.startTimes.length} starts (mean ${meanStartMs} ms to answer), ${seconds} s`,
        ...figures.map((f) => `  ${JSON.stringify(f)}`),
      ].join('\n'),
    );

    expect(problems).toEqual([]);
    expect(killed.length).toBeGreaterThanOrEqual(kills);
    expect(count('mid-push') + count('after-commit')).toBeGreaterThan(0);
    for (const f of figures) {
      expect(f.ops).toBeGreaterThan(0);
      expect(f.duplicatesOnResend).toBe(f.ops);
    }
    // Responses were lost both before a commit and after one: both kinds of retry were tested.
    expect(figures.reduce((n, f) => n + f.lostPushes - f.lostPushesFoundApplied, 0)).toBeGreaterThan(0);
    expect(devices.filter((d) => !foundApplied(d)).map((d) => d.name)).toEqual([]);
  }, 240_000);
});

/** Signs a device in as a demo user; each device composes ops from its own seeded stream. */
async function signIn(
  live: RestartingServer,
  options: {
    name: string;
    email: string;
    workload: (ledger: OpLedger, random: Random, clock: HlcClock, prefix: string) => Workload;
    batchSize: readonly [number, number];
    random: Random;
  },
): Promise<PushingDevice> {
  const login = await fetch(`${live.baseUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: options.email, password: demoPassword }),
  });
  if (login.status !== 200) throw new Error(`${options.email} could not sign in: ${login.status}`);
  const { token, user } = (await login.json()) as { token: string; user: { tenant: string } };
  const ledger = new OpLedger();
  return new PushingDevice({
    name: options.name,
    tenant: user.tenant,
    token,
    clientId: `${options.name}-install`,
    deviceId: options.name,
    ledger,
    workload: options.workload(ledger, options.random, new HlcClock({ node: options.name }), options.name),
    link: live,
    random: options.random,
    batchSize: options.batchSize,
  });
}

/** Whether a push of the device was found applied when resent after its response was lost. */
function foundApplied(device: PushingDevice): boolean {
  return device.ledger.batches.some((b) => b.retryAnswer === 'duplicate');
}

/** Waits until no device still holds a push whose response was lost. */
async function retriesAnswered(devices: readonly PushingDevice[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (devices.some((d) => d.awaitingRetry()) && Date.now() < deadline) await sleep(5);
}

/** Everything the device's tenant holds, pulled from the start, by `collection/id`. */
async function pullEverything(device: PushingDevice): Promise<Map<string, Change>> {
  const records = new Map<string, Change>();
  let cursor: string | undefined;
  for (;;) {
    const page = await device.get<PullResponse>(
      `/v1/sync/pull?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const c of page.changes) records.set(`${c.collection}/${c.id}`, c);
    cursor = page.cursor;
    if (!page.hasMore) return records;
  }
}

/**
 * Whether `change` is one of the records `npm start` seeds: the clinic's by their fixed ids; the
 * practice's, whose ids the server gives, by the fields each demo record sets that name no other
 * record (those hold temp ids in the examples, real ids on the server).
 */
function isDemoRecord(change: Change): boolean {
  if (change.id.startsWith('demo-')) return true;
  return vetPracticeDemoRecords.some(
    (demo) =>
      demo.collection === change.collection &&
      Object.entries(demo.data).every(
        ([field, value]) => isTempId(value) || isDeepStrictEqual(change.data?.[field], value),
      ),
  );
}

/**
 * Each record the device created is on the server once, at the version one create plus its
 * updates give, with the data they give; nothing else is there but the demo records, which every
 * start seeds again and which must still be at version 1.
 */
function checkServerState(device: PushingDevice, pulled: Map<string, Change>): void {
  const byLocalId = new Map(device.ledger.records.map((r) => [r.localId, r]));
  const realId = (r: LocalRecord) => r.realId ?? `(unmapped ${r.localId})`;
  const expectedData = (r: LocalRecord): RecordData =>
    r.collection === 'pets' && typeof r.data['ownerId'] === 'string'
      ? { ...r.data, ownerId: realId(byLocalId.get(r.data['ownerId']) ?? r) }
      : r.data;
  const ours = new Set<string>();
  for (const r of device.ledger.records) {
    const key = `${r.collection}/${realId(r)}`;
    if (ours.has(key)) device.problem(`two local records share ${key}`);
    ours.add(key);
    const found = pulled.get(key);
    if (!found || found.deleted || found.version !== r.version) {
      device.problem(`${key} is ${JSON.stringify(found)}, expected version ${r.version}`);
    } else if (!isDeepStrictEqual(found.data, expectedData(r))) {
      device.problem(
        `${key} holds ${JSON.stringify(found.data)}, expected ${JSON.stringify(expectedData(r))}`,
      );
    }
  }
  for (const [key, change] of pulled) {
    if (ours.has(key)) continue;
    if (!isDemoRecord(change)) device.problem(`${key} was never created by the device`);
    else if (change.version !== 1) device.problem(`demo record ${key} is at version ${change.version}`);
  }
}
