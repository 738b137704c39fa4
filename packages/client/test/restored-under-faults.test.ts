// The give-back to a server restored from a backup (decisions 0050 and 0051), randomized and under
// network faults. One real server on SQLite serves a field clinic (ids made by the devices) and a
// vet practice (ids numbered by the server); each has two tablets and, after the restore, an office
// computer. Per seed: the tablets work and sync (phase A), the backup is taken, they work on with
// some changes acknowledged and the last ones unsent (B); the server is restored from the backup
// and the office creates and edits records there (C); the tablets sync through lost answers, a
// dropped link and apps closed mid-request, then every device syncs until a round moves nothing
// (D). What a clinic would notice is then checked: no work lost, nothing written over, every device
// showing what the server holds, nothing applied twice.
//
// Replay one seed: OUTPOST_RESTORE_SEED=7 npx vitest run packages/client/test/restored-under-faults.test.ts
// (several: OUTPOST_RESTORE_SEED=3,7,11; OUTPOST_RESTORE_TRACE=1 prints what each seed did).
import { afterEach, describe, it } from 'vitest';
import type { Database } from '@outpost/server';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { isTempId } from '@outpost/core';
import type { Conflict, RecordData, Schema } from '@outpost/core';
import { createSyncClient, memoryStore } from '../src/index';
import type { SyncClient, SyncResult } from '../src/index';
import type { Timers } from '../src/network/timers';
import { TestNetwork } from './client-fixture';
import { restoredPractice } from './restored-practice';
import type { Cleanups, RestoredPractice, ServerClock } from './restored-practice';

// Seeds that fail on a gap still open, each reduced to an `it.fails` case in
// restored-findings.test.ts, are left out of the default run so that it fails on anything else;
// replay them by name. None is open now: of seeds 1-40, 6 and 23 failed on finding 4 (a deletion
// made after the backup undone by a colleague's give-back), 34, 38, 39 and 40 on finding 5 (a
// conflict open on the lost database stranded on the tablet), both fixed since.
const knownOpen = new Set<number>([]);
const defaultSeeds = [1, 2, 3, 4, 5, 6, 7, 8, 9].filter((seed) => !knownOpen.has(seed));
const seeds = process.env['OUTPOST_RESTORE_SEED']
  ? process.env['OUTPOST_RESTORE_SEED'].split(',').map((s) => Number(s.trim()))
  : defaultSeeds;
const tracing = process.env['OUTPOST_RESTORE_TRACE'] === '1';

const secret = 'restored-under-faults-test-secret-0123';

// ---- randomness ------------------------------------------------------------------------------

/** mulberry32: small, and the same stream for the same seed on every machine. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = (seed * 0x9e3779b1) >>> 0 || 1;
  }
  float(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.float() * items.length)] as T;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

// ---- the practices ---------------------------------------------------------------------------

interface CollectionSpec {
  /** The field naming the record for the test (unique, never changed): how a record is found again under a new number. */
  label: string;
  /** Reference fields, set at creation only, and the collection each names. */
  refs: Record<string, string>;
  /** Fields an update changes, each to a value no other write uses. */
  editable: string[];
  /** Whether records of it are deleted (nothing references them). */
  leaf: boolean;
}

interface TenantSpec {
  name: 'clinic' | 'vet';
  tenant: string;
  schema: Schema;
  clinician: string;
  admin: string;
  /** Ids numbered by the server: a record is known by its label, not its id. */
  serverIds: boolean;
  /** Parents first. */
  collections: Record<string, CollectionSpec>;
}

const clinic: TenantSpec = {
  name: 'clinic',
  tenant: 'clinic-a',
  schema: fieldClinic,
  clinician: 'nurse@clinic-a.test',
  admin: 'admin@clinic-a.test',
  serverIds: false,
  collections: {
    patients: { label: 'name', refs: {}, editable: ['village', 'phone', 'notes'], leaf: false },
    encounters: {
      label: 'date',
      refs: { patientId: 'patients' },
      editable: ['diagnosis', 'prescription', 'notes'],
      leaf: true,
    },
  },
};

const vet: TenantSpec = {
  name: 'vet',
  tenant: 'vet-a',
  schema: vetPractice,
  clinician: 'vet@vet-a.test',
  admin: 'admin@vet-a.test',
  serverIds: true,
  collections: {
    users: { label: 'name', refs: {}, editable: ['email', 'role'], leaf: false },
    pets: { label: 'name', refs: { ownerId: 'users' }, editable: ['species'], leaf: false },
    appointments: { label: 'title', refs: { petId: 'pets' }, editable: ['type', 'date'], leaf: false },
    soapNotes: {
      label: 'subjective',
      refs: { appointmentId: 'appointments' },
      editable: ['objective', 'assessment', 'plan'],
      leaf: true,
    },
  },
};

/** Derived by the server (the appointment's client is its pet's owner): no device writes it. */
const derived = new Set(['clientId']);

const users = [
  { email: clinic.clinician, tenant: clinic.tenant, roles: ['clinician'] },
  { email: clinic.admin, tenant: clinic.tenant, roles: ['admin'] },
  { email: vet.clinician, tenant: vet.tenant, roles: ['clinician'] },
  { email: vet.admin, tenant: vet.tenant, roles: ['admin'] },
];

// ---- the server ------------------------------------------------------------------------------

/** The test's own failure, naming what was found. */
class Finding extends Error {}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Finding(message);
}

/** Timers that never fire: the test drives every sync, so no retry runs behind its back. */
const quietTimers: Timers = {
  now: () => Date.now(),
  setTimeout: () => 0,
  clearTimeout: () => undefined,
};

/** The server of both practices, on the restored-practice fixture (restored-practice.ts). */
class Server {
  private practice: RestoredPractice | null = null;
  /** The server's clock: see phase A. */
  private readonly clock: ServerClock = { offsetMs: 0 };
  private readonly tokens = new Map<string, string>();

  constructor(private readonly cleanups: Cleanups) {}

  private get p(): RestoredPractice {
    if (!this.practice) throw new Error('the server has not started');
    return this.practice;
  }

  get url(): string {
    return this.p.url;
  }

  get database(): Database {
    return this.p.database;
  }

  /** The server's clock, behind the wall clock until the backup: see phase A. */
  get offsetMs(): number {
    return this.clock.offsetMs;
  }

  set offsetMs(ms: number) {
    this.clock.offsetMs = ms;
  }

  async start(): Promise<void> {
    this.practice = await restoredPractice(this.cleanups, {
      schema: fieldClinic,
      tenantSchemas: { [vet.tenant]: vetPractice },
      users,
      jwtSecret: secret,
      clock: this.clock,
    });
  }

  /** As docs/server.md says: stopped, the backup copied over its file, started on the same address. */
  async restore(): Promise<void> {
    await this.p.restore();
  }

  async backup(): Promise<void> {
    await this.p.backup();
  }

  /** A request of the test's own; tried again once, as the first may meet a connection kept alive to the stopped server. */
  async get<T>(email: string, path: string): Promise<T> {
    const token = await this.token(email);
    const request = () => fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const res = await request().catch(request);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async token(email: string): Promise<string> {
    const known = this.tokens.get(email);
    if (known) return known;
    // Tried twice: the first request may meet a connection kept alive to the stopped server.
    const token = await this.p.signIn(email).catch(() => this.p.signIn(email));
    this.tokens.set(email, token);
    return token;
  }

  /** A tenant's live records as a pull from the start sees them, by collection and id. */
  async records(spec: TenantSpec): Promise<Map<string, Map<string, RecordData>>> {
    const out = new Map<string, Map<string, RecordData>>(
      Object.keys(spec.collections).map((c) => [c, new Map<string, RecordData>()]),
    );
    let cursor: string | undefined;
    for (;;) {
      const page = await this.get<{
        changes: Array<{ collection: string; id: string; data: RecordData | null; deleted: boolean }>;
        cursor: string;
        hasMore: boolean;
      }>(spec.admin, `/v1/sync/pull?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      for (const c of page.changes) {
        const map = out.get(c.collection);
        if (!map) continue;
        if (c.deleted) map.delete(c.id);
        else map.set(c.id, c.data ?? {});
      }
      cursor = page.cursor;
      if (!page.hasMore) return out;
    }
  }

  /** Every conflict the tenant's archive holds, open or settled. */
  async conflicts(spec: TenantSpec): Promise<Conflict[]> {
    const out: Conflict[] = [];
    let cursor: string | null = null;
    do {
      const page: { conflicts: Conflict[]; nextCursor: string | null } = await this.get(
        spec.admin,
        `/v1/conflicts?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      );
      out.push(...page.conflicts);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return out;
  }

  /** Every record row of the tenant, tombstones included, straight from the database. */
  async rows(
    spec: TenantSpec,
  ): Promise<Array<{ collection: string; id: string; data: RecordData; deleted: boolean }>> {
    const rows = await this.database.db
      .selectFrom('records')
      .select(['collection', 'id', 'data', 'deleted'])
      .where('tenant', '=', spec.tenant)
      .execute();
    return rows.map((r) => ({
      collection: r.collection,
      id: r.id,
      data: JSON.parse(r.data) as RecordData,
      deleted: Number(r.deleted) === 1,
    }));
  }

  /**
   * The records the journal's applied creates made, per collection: each record once, though
   * several devices' creates of a record given back under a new number may name it (decision
   * 0051, restoredFrom: the later ones are settled against the first).
   */
  async createdRecords(spec: TenantSpec): Promise<Map<string, Set<string>>> {
    const rows = await this.database.db
      .selectFrom('ops')
      .select(['collection', 'record_id', 'op_type', 'status'])
      .where('tenant', '=', spec.tenant)
      .execute();
    const out = new Map<string, Set<string>>();
    for (const r of rows) {
      if (r.op_type !== 'create' || r.status !== 'applied') continue;
      out.set(r.collection, (out.get(r.collection) ?? new Set<string>()).add(r.record_id));
    }
    return out;
  }

  /**
   * The tombstones a deletion given back made (decision 0051, "Deletions"), by `collection/id`: the
   * restored server keeps a tablet's deletion of a record numbered after the backup under a new
   * number of its own, named in `restored_numbers`, made by an applied delete, with no data (the
   * tablet no longer held the record). No create made them, and they carry no label.
   */
  async keptDeletions(spec: TenantSpec): Promise<Set<string>> {
    const named = await this.database.db
      .selectFrom('restored_numbers')
      .select(['collection', 'id'])
      .where('tenant', '=', spec.tenant)
      .execute();
    const deletes = await this.database.db
      .selectFrom('ops')
      .select(['collection', 'record_id'])
      .where('tenant', '=', spec.tenant)
      .where('op_type', '=', 'delete')
      .where('status', '=', 'applied')
      .execute();
    const deleted = new Set(deletes.map((d) => `${d.collection}/${d.record_id}`));
    const rows = new Map((await this.rows(spec)).map((r) => [`${r.collection}/${r.id}`, r]));
    const out = new Set<string>();
    for (const n of named) {
      const key = `${n.collection}/${n.id}`;
      const row = rows.get(key);
      if (row?.deleted === true && Object.keys(row.data).length === 0 && deleted.has(key)) out.add(key);
    }
    return out;
  }
}

// ---- the devices -----------------------------------------------------------------------------

type Fault = 'online' | 'offline' | 'lose-answers' | 'crash';

class Device {
  readonly network = new TestNetwork();
  client: SyncClient | null = null;
  /** The request of the current sync to lose the answer of, or to close the app during. */
  private loseAt = 0;
  private crashAt = 0;
  private requests = 0;
  private closing: Promise<void> | null = null;
  private inFlight: Promise<unknown> | null = null;
  private readonly storeName: string;

  constructor(
    readonly name: string,
    readonly spec: TenantSpec,
    readonly email: string,
    private readonly server: Server,
    seed: number,
  ) {
    this.storeName = `restored-under-faults-${seed}-${name}-${Date.now()}`;
  }

  get c(): SyncClient {
    if (!this.client) throw new Error(`${this.name} is closed`);
    return this.client;
  }

  async open(): Promise<void> {
    const token = await this.server.token(this.email);
    this.client = await createSyncClient({
      schema: this.spec.schema,
      url: this.server.url,
      getToken: async () => token,
      // Named: an app opened again finds what the one closed had stored.
      store: memoryStore({ name: this.storeName }),
      deviceId: this.name,
      fetch: (input, init) => this.fetch(input, init),
      autoSync: false,
      probeIntervalMs: false,
      timers: quietTimers,
      // The test drives every sync: neither the retry limit nor the breaker stops one.
      retry: { maxAttempts: 1_000 },
      circuitBreaker: { failureThreshold: 1_000_000 },
    });
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = null;
  }

  private fetch: typeof fetch = (input, init) => {
    this.requests += 1;
    if (this.requests === this.loseAt) this.network.loseNextAnswers(1);
    if (this.requests === this.crashAt && this.client) {
      // The app is closed while this request is out: it still reaches the server.
      this.closing = this.client.close();
      this.client = null;
    }
    const sent = this.network.fetch(input, init);
    this.inFlight = sent.catch(() => undefined);
    return sent;
  };

  /** One sync under a fault; an app closed during it is opened again on its store. */
  async sync(fault: Fault = 'online', at = 1): Promise<SyncResult | null> {
    this.requests = 0;
    this.loseAt = fault === 'lose-answers' ? at : 0;
    this.crashAt = fault === 'crash' ? at : 0;
    this.network.mode = fault === 'offline' ? 'offline' : 'online';
    let result: SyncResult | null = null;
    try {
      result = await this.c.sync();
    } finally {
      this.loseAt = 0;
      this.crashAt = 0;
      this.network.mode = 'online';
      // Whatever is still out reaches the server before anything else happens: a seed replays.
      await this.inFlight;
      this.inFlight = null;
      if (this.closing) {
        await this.closing;
        this.closing = null;
        await this.open();
        result = null;
      }
    }
    return result;
  }

  /** Every live record the device holds, by collection and id. */
  async held(): Promise<Map<string, Map<string, RecordData>>> {
    const out = new Map<string, Map<string, RecordData>>();
    for (const collection of Object.keys(this.spec.collections)) {
      const found = await this.c.collection(collection).find();
      out.set(collection, new Map(found.map((r) => [r.id, r.data])));
    }
    return out;
  }
}

// ---- what was done: the ledger ----------------------------------------------------------------

/** One change a person made, as the test knows it: a record by its key (its id where devices make ids, else its label). */
interface Write {
  seq: number;
  device: string;
  phase: 'A' | 'B' | 'C';
  collection: string;
  key: string;
  kind: 'create' | 'update' | 'delete';
  /** The fields it set; references by key. */
  fields: RecordData;
}

/** The records of one place by collection and key: each one's id there, and its data with references as keys. */
type Keyed = Map<string, Map<string, Held>>;

/** A record of one place; `twins`: every record there under the same key (itself included), which only a duplicate makes more than one. */
interface Held {
  id: string;
  data: RecordData;
  twins: Array<{ id: string; data: RecordData }>;
}

/**
 * The records of one place (a device, the server) by key, with references turned into keys: the
 * same record under another number, naming the same records, is the same.
 */
function keyed(spec: TenantSpec, held: Map<string, Map<string, RecordData>>): Keyed {
  const keyOfId = new Map<string, Map<string, string>>();
  for (const [collection, records] of held) {
    const label = spec.collections[collection]?.label ?? '';
    keyOfId.set(
      collection,
      new Map([...records].map(([id, data]) => [id, spec.serverIds ? String(data[label]) : id])),
    );
  }
  const out: Keyed = new Map();
  for (const [collection, records] of held) {
    const cs = spec.collections[collection] as CollectionSpec;
    const byKey = new Map<string, Held>();
    for (const [id, data] of records) {
      const logical: RecordData = {};
      for (const [field, value] of Object.entries(data)) {
        if (derived.has(field)) continue;
        const target = cs.refs[field];
        logical[field] =
          target !== undefined && typeof value === 'string'
            ? (keyOfId.get(target)?.get(value) ?? `missing:${value}`)
            : value;
      }
      const key = keyOfId.get(collection)?.get(id) as string;
      const first = byKey.get(key);
      if (first) first.twins.push({ id, data: logical });
      else byKey.set(key, { id, data: logical, twins: [{ id, data: logical }] });
    }
    out.set(collection, byKey);
  }
  return out;
}

// ---- one seed --------------------------------------------------------------------------------

class Run {
  readonly rng: Rng;
  readonly trace: string[] = [];
  readonly ledger: Write[] = [];
  private seq = 0;
  private values = 0;
  private lastWriteMs = 0;
  readonly server: Server;
  readonly tablets: Record<'clinic' | 'vet', Device[]> = { clinic: [], vet: [] };
  readonly offices: Partial<Record<'clinic' | 'vet', Device>> = {};
  /** The ledger's length at the backup: the writes before it are in the backup. */
  backupSeq = 0;
  /** Per tablet, what it holds at the end of phase B, by collection and key. */
  readonly endOfB = new Map<string, Keyed>();
  readonly findings: string[] = [];
  private readonly cleanups: Array<() => Promise<void> | void>;

  constructor(
    readonly seed: number,
    cleanups: Array<() => Promise<void> | void>,
  ) {
    this.rng = new Rng(seed);
    this.cleanups = cleanups;
    this.server = new Server(cleanups);
  }

  log(line: string): void {
    this.trace.push(line);
  }

  async device(name: string, spec: TenantSpec, email: string): Promise<Device> {
    const d = new Device(name, spec, email, this.server, this.seed);
    await d.open();
    this.cleanups.push(() => d.close());
    return d;
  }

  /** A value no other write uses, so a value found anywhere names the write that made it. */
  value(device: Device, field: string): unknown {
    this.values += 1;
    if (field === 'date') {
      const base = device.spec.name === 'vet' ? Date.UTC(2026, 6, 1) : Date.UTC(2026, 0, 1);
      const iso = new Date(base + this.values * 60_000).toISOString();
      return device.spec.name === 'vet' ? iso : `${iso.slice(0, 10)} ${device.name}-${this.values}`;
    }
    return `${device.name}-${this.values}`;
  }

  /** Each write in a millisecond of its own, so the devices' clocks order them as the test made them. */
  private async nextMs(): Promise<void> {
    while (Date.now() <= this.lastWriteMs) await new Promise((r) => setImmediate(r));
    this.lastWriteMs = Date.now();
  }

  private record(w: Omit<Write, 'seq'>): void {
    this.seq += 1;
    this.ledger.push({ ...w, seq: this.seq });
    this.log(`${w.phase} ${w.device} ${w.kind} ${w.collection} ${w.key} ${JSON.stringify(w.fields)}`);
  }

  /** The records a device holds of a collection, as [id, key], in the order the ledger made them. */
  async heldOf(d: Device, collection: string): Promise<Array<{ id: string; key: string; data: RecordData }>> {
    const label = d.spec.collections[collection]?.label as string;
    const found = await d.c.collection(collection).find();
    const order = new Map<string, number>();
    for (const w of this.ledger)
      if (w.kind === 'create' && w.collection === collection) order.set(w.key, w.seq);
    return found
      .map((r) => ({ id: r.id, key: d.spec.serverIds ? String(r.data[label]) : r.id, data: r.data }))
      .filter((r) => order.has(r.key))
      .sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
  }

  async create(d: Device, collection: string, phase: Write['phase']): Promise<boolean> {
    const cs = d.spec.collections[collection] as CollectionSpec;
    const data: RecordData = {};
    const refKeys: RecordData = {};
    for (const [field, target] of Object.entries(cs.refs)) {
      const parents = await this.heldOf(d, target);
      if (parents.length === 0) return false;
      const parent = this.rng.pick(parents);
      data[field] = parent.id;
      refKeys[field] = parent.key;
    }
    data[cs.label] = this.value(d, cs.label === 'date' ? 'date' : cs.label);
    if (d.spec.name === 'vet' && collection === 'appointments') data['date'] = this.value(d, 'date');
    for (const field of cs.editable) {
      if (field !== 'date' && this.rng.chance(0.4)) data[field] = this.value(d, field);
    }
    await this.nextMs();
    const made = await d.c.collection(collection).create(data);
    const key = d.spec.serverIds ? String(data[cs.label]) : made.id;
    this.record({ device: d.name, phase, collection, key, kind: 'create', fields: { ...data, ...refKeys } });
    return true;
  }

  async update(
    d: Device,
    collection: string,
    phase: Write['phase'],
    among?: ReadonlySet<string>,
  ): Promise<boolean> {
    const cs = d.spec.collections[collection] as CollectionSpec;
    const held = (await this.heldOf(d, collection)).filter((r) => among === undefined || among.has(r.key));
    if (held.length === 0) return false;
    const target = this.rng.pick(held);
    const fields: RecordData = {};
    for (const field of this.rng.shuffle(cs.editable).slice(0, this.rng.int(1, 2))) {
      fields[field] = this.value(d, field);
    }
    await this.nextMs();
    await d.c.collection(collection).update(target.id, fields);
    this.record({ device: d.name, phase, collection, key: target.key, kind: 'update', fields });
    return true;
  }

  async remove(
    d: Device,
    collection: string,
    phase: Write['phase'],
    among?: ReadonlySet<string>,
  ): Promise<boolean> {
    const held = (await this.heldOf(d, collection)).filter((r) => among === undefined || among.has(r.key));
    if (held.length === 0) return false;
    const target = this.rng.pick(held);
    await this.nextMs();
    await d.c.collection(collection).delete(target.id);
    this.record({ device: d.name, phase, collection, key: target.key, kind: 'delete', fields: {} });
    return true;
  }

  /** One thing a clinician does on a tablet: registers, edits, deletes a note. */
  async act(d: Device, phase: 'A' | 'B'): Promise<void> {
    const names = Object.keys(d.spec.collections);
    for (let tries = 0; tries < 10; tries++) {
      const roll = this.rng.float();
      const collection = this.rng.pick(names);
      const cs = d.spec.collections[collection] as CollectionSpec;
      if (roll < 0.45) {
        if (await this.create(d, collection, phase)) return;
      } else if (roll < 0.85) {
        if (await this.update(d, collection, phase)) return;
      } else if (cs.leaf) {
        if (await this.remove(d, collection, phase)) return;
      }
    }
    // Nothing else was possible: a new record of the first collection always is.
    await this.create(d, names[0] as string, phase);
  }

  /** Every device of the list syncs online, round after round, until a round moves nothing. */
  async calm(devices: Device[], what: string): Promise<void> {
    for (let round = 1; round <= 10; round++) {
      let moved = false;
      for (const d of devices) {
        let result = await d.sync('online');
        // The first request after a restart may meet a connection kept alive to the stopped server.
        if (result && !result.success && result.error?.code === 'NETWORK') result = await d.sync('online');
        check(
          result !== null && result.success,
          `${what}: ${d.name}'s sync in round ${round} failed: ${JSON.stringify(result?.error)}`,
        );
        const r = result as SyncResult;
        this.log(
          `${what} round ${round} ${d.name}: sent ${r.pushed.sent}, pulled ${r.pulled}${r.restored ? `, restored ${JSON.stringify(r.restored)}` : ''}`,
        );
        if (r.pushed.sent > 0 || r.pulled > 0 || r.restored !== undefined) moved = true;
      }
      if (!moved) return;
    }
    throw new Finding(`${what}: the devices did not settle in 10 rounds of syncing online`);
  }

  async run(): Promise<void> {
    const { rng, server } = this;
    // Phase A's writes are stamped by a server clock two minutes behind: a backup taken the moment
    // the devices went quiet would take every state written in its last minute for one it may have
    // missed (decision 0050's minute), and give back, as edits, states it already has.
    server.offsetMs = -120_000;
    // Started on the fixture, which stops it after the test.
    await server.start();
    for (const spec of [clinic, vet]) {
      for (const n of [1, 2]) {
        this.tablets[spec.name].push(await this.device(`${spec.name}-tablet-${n}`, spec, spec.clinician));
      }
    }
    const tablets = [...this.tablets.clinic, ...this.tablets.vet];

    // A: the tablets work and sync until quiet.
    for (const d of tablets) {
      for (let i = rng.int(3, 6); i > 0; i--) await this.act(d, 'A');
      await d.sync('online');
    }
    for (const d of rng.shuffle(tablets)) for (let i = rng.int(0, 2); i > 0; i--) await this.act(d, 'A');
    await this.calm(tablets, 'phase A');
    server.offsetMs = 0;
    await server.backup();
    this.backupSeq = this.seq;
    this.log(`backup after write ${this.backupSeq}`);

    // B: more work; some of it acknowledged by the server the backup will not have, the last of it unsent.
    for (let step = rng.int(10, 18); step > 0; step--) {
      const d = rng.pick(tablets);
      await this.act(d, 'B');
      if (rng.chance(0.3)) {
        const r = await d.sync('online');
        this.log(
          `B ${d.name} sync: ${r?.success} sent ${r?.pushed.sent} conflicts ${r?.pushed.conflicts} pulled ${r?.pulled}`,
        );
      }
    }
    for (const d of tablets) {
      if (rng.chance(0.7)) {
        const r = await d.sync('online');
        this.log(
          `B ${d.name} sync: ${r?.success} sent ${r?.pushed.sent} conflicts ${r?.pushed.conflicts} pulled ${r?.pulled}`,
        );
      }
      for (let i = rng.int(1, 3); i > 0; i--) await this.act(d, 'B');
    }
    for (const d of tablets) this.endOfB.set(d.name, keyed(d.spec, await d.held()));

    // C: restored; the office works on the restored server.
    await server.restore();
    this.log('restored');
    for (const spec of [clinic, vet]) {
      const office = await this.device(`${spec.name}-office`, spec, spec.admin);
      this.offices[spec.name] = office;
      await this.officeSync(office);
      const backedUp = new Set(this.ledger.filter((w) => w.seq <= this.backupSeq).map((w) => w.key));
      const names = Object.keys(spec.collections);
      for (const collection of names) {
        for (let i = rng.int(spec.serverIds ? 1 : 0, 2); i > 0; i--)
          await this.create(office, collection, 'C');
      }
      for (let i = rng.int(1, 2); i > 0; i--) await this.update(office, rng.pick(names), 'C', backedUp);
      const leaf = names.find((c) => spec.collections[c]?.leaf) as string;
      if (rng.chance(0.4)) await this.remove(office, leaf, 'C', backedUp);
      await this.officeSync(office);
    }

    // D: the tablets sync through faults, then every device until quiet.
    for (let round = 0; round < 4; round++) {
      for (const d of rng.shuffle(tablets)) {
        const fault = rng.pick<Fault>(['online', 'lose-answers', 'lose-answers', 'offline', 'crash']);
        const at = rng.int(1, 5);
        if (rng.chance(0.15)) {
          await d.close();
          await d.open();
          this.log(`D ${d.name} closed and opened again`);
        }
        const r = await d.sync(fault, at);
        this.log(
          `D ${d.name} ${fault}@${at}: ${r === null ? 'closed mid-sync, opened again' : `${r.success ? 'ok' : r.error?.code} sent ${r.pushed.sent} pulled ${r.pulled}${r.restored ? ` restored ${JSON.stringify(r.restored)}` : ''}`}`,
        );
      }
    }
    const everyone = [...tablets, this.offices.clinic as Device, this.offices.vet as Device];
    await this.calm(everyone, 'phase D');

    for (const spec of [clinic, vet]) await this.checkTenant(spec);
    if (this.findings.length > 0) {
      const shown = this.findings.slice(0, tracing ? 200 : 12);
      const more = this.findings.length - shown.length;
      throw new Finding(`${shown.join('\n')}${more > 0 ? `\n(and ${more} more)` : ''}`);
    }
  }

  private async officeSync(office: Device): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const r = await office.sync('online');
      if (r?.success) return;
    }
    throw new Finding(`${office.name} could not sync with the restored server`);
  }

  // ---- the checks ----------------------------------------------------------------------------

  private async checkTenant(spec: TenantSpec): Promise<void> {
    const { server } = this;
    const raw = await server.records(spec);
    const onServer = keyed(spec, raw);
    const conflicts = await server.conflicts(spec);
    const ledger = this.ledger.filter((w) => this.tenantOf(w) === spec.name);
    const devices = [...this.tablets[spec.name], this.offices[spec.name] as Device];

    // Convergence: each device holds what the server holds, nothing waiting, no temp id anywhere.
    for (const [collection, records] of raw) {
      for (const [id, data] of records) {
        this.note(!isTempId(id), `${spec.name}: the server holds ${collection} under a temp id ${id}`);
        for (const field of Object.keys(spec.collections[collection]?.refs ?? {})) {
          this.note(!isTempId(data[field]), `${spec.name}: server ${collection} ${id}.${field} is a temp id`);
        }
      }
    }
    for (const d of devices) {
      const held = await d.held();
      for (const [collection, records] of raw) {
        const mine = held.get(collection) ?? new Map<string, RecordData>();
        for (const [id, data] of records) {
          this.note(
            mine.has(id) && sameData(mine.get(id) as RecordData, data),
            `${d.name} does not show ${collection} ${id} as the server holds it: server ${JSON.stringify(data)}, device ${JSON.stringify(mine.get(id) ?? null)}; its ops on it: ${opsOn(d, id)}`,
          );
        }
        for (const id of mine.keys()) {
          this.note(
            records.has(id),
            `${d.name} shows ${collection} ${id}, which the server does not hold: ${JSON.stringify(mine.get(id))}; its ops on it: ${opsOn(d, id)}`,
          );
        }
      }
      // A conflict the device shows waiting for a person is one the server holds open, to be settled.
      const open = new Set(conflicts.filter((c) => c.outcome === 'open').map((c) => c.id));
      for (const c of d.c.conflicts.list({ status: 'open' })) {
        this.note(
          open.has(c.id),
          `${d.name} shows conflict ${c.id} on ${c.collection} ${c.recordId} waiting, which the server does not hold open`,
        );
      }
      const stats = d.c.queue.stats();
      this.note(
        stats.pending === 0 && stats.inFlight === 0 && stats.failed === 0 && stats.refused === 0,
        `${d.name}'s outbox is not settled: ${JSON.stringify(stats)} ${JSON.stringify(d.c.queue.list().filter((o) => o.status !== 'done'))}`,
      );
    }

    // Exactly once: every record the server holds (tombstones too) is one the ledger made, each once.
    const rows = await server.rows(spec);
    const made = new Set(ledger.filter((w) => w.kind === 'create').map((w) => `${w.collection}/${w.key}`));
    const seen = new Map<string, string>();
    // A tablet's deletion of a record numbered after the backup, given back and kept as a tombstone
    // under a new number: it stands for a deletion someone made after the backup in that collection.
    const kept = spec.serverIds ? await server.keptDeletions(spec) : new Set<string>();
    for (const row of rows) {
      const cs = spec.collections[row.collection];
      if (!cs) continue;
      if (kept.has(`${row.collection}/${row.id}`)) {
        this.note(
          ledger.some(
            (w) => w.kind === 'delete' && w.collection === row.collection && w.seq > this.backupSeq,
          ),
          `${spec.name}: the server keeps a deletion of ${row.collection} as ${row.id}, though nobody deleted one after the backup`,
        );
        continue;
      }
      const key = `${row.collection}/${spec.serverIds ? String(row.data[cs.label]) : row.id}`;
      this.note(
        made.has(key),
        `${spec.name}: the server holds ${row.collection} ${row.id}, which nobody made: ${JSON.stringify(row.data)}`,
      );
      this.note(
        !seen.has(key),
        `${spec.name}: ${key} is on the server twice, as ${row.collection} ${seen.get(key)} and ${row.id}${row.deleted ? ' (deleted)' : ''}`,
      );
      seen.set(key, row.id);
    }
    if (spec.serverIds) {
      // The journal's applied creates made exactly the records the server holds, none twice (the
      // tombstones of deletions given back aside, checked above).
      const created = await server.createdRecords(spec);
      for (const collection of Object.keys(spec.collections)) {
        const ids = rows
          .filter((r) => r.collection === collection && !kept.has(`${r.collection}/${r.id}`))
          .map((r) => r.id);
        const journal = created.get(collection) ?? new Set<string>();
        this.note(
          ids.length === journal.size && ids.every((id) => journal.has(id)),
          `${spec.name}: the journal's creates of ${collection} made ${[...journal].sort().join(', ')}, the server holds ${ids.sort().join(', ')}`,
        );
      }
    }
    // No record lost: each one made and never deleted by anyone is on the server.
    const deleted = new Set(ledger.filter((w) => w.kind === 'delete').map((w) => `${w.collection}/${w.key}`));
    for (const key of made) {
      if (deleted.has(key)) continue;
      const [collection, k] = splitKey(key);
      this.note(
        onServer.get(collection)?.has(k) === true,
        `${spec.name}: ${key} was made and never deleted, and the server does not hold it`,
      );
    }

    // Nothing written over: the office's records hold what it typed, its edits stand.
    for (const w of ledger.filter((x) => x.phase === 'C')) {
      const live = onServer.get(w.collection)?.get(w.key);
      if (w.kind === 'delete') {
        this.note(
          live === undefined,
          `${spec.name}: the office deleted ${w.collection} ${w.key}, and the server holds it: ${JSON.stringify(live?.data)}`,
        );
        continue;
      }
      // An office edit of a record the office then deleted: the deletion is checked.
      const deletedLater = ledger.some(
        (x) => x.seq > w.seq && x.kind === 'delete' && x.key === w.key && x.collection === w.collection,
      );
      if (deletedLater) continue;
      this.note(
        live !== undefined,
        `${spec.name}: the office's ${w.kind} of ${w.collection} ${w.key} is gone from the server`,
      );
      for (const [field, value] of Object.entries(w.fields)) {
        // The office's own later edit of the field is the one to find.
        const setLater = ledger.some(
          (x) => x.seq > w.seq && x.key === w.key && x.collection === w.collection && field in x.fields,
        );
        if (setLater) continue;
        this.note(
          sameValue(live?.data[field], value),
          `${spec.name}: the office set ${w.collection} ${w.key}.${field} to ${JSON.stringify(value)}, the server holds ${JSON.stringify(live?.data[field])} (${w.kind}, record ${live?.id})`,
        );
      }
      if (w.kind === 'create') {
        const later = ledger.some((x) => x.seq > w.seq && x.key === w.key && x.collection === w.collection);
        if (!later) {
          this.note(
            sameData(live?.data ?? {}, w.fields),
            `${spec.name}: the office's ${w.collection} ${w.key} holds ${JSON.stringify(live?.data)}, not what the office typed: ${JSON.stringify(w.fields)}`,
          );
        }
      }
    }
    // The office's numbers still name the office's records.
    const office = this.offices[spec.name] as Device;
    if (spec.serverIds) {
      for (const w of ledger.filter((x) => x.phase === 'C' && x.kind === 'create')) {
        const label = spec.collections[w.collection]?.label as string;
        const mine = (await this.heldOf(office, w.collection)).find((r) => r.key === w.key);
        this.note(mine !== undefined, `the office no longer holds its ${w.collection} ${w.key}`);
        this.note(
          String(raw.get(w.collection)?.get(mine?.id ?? '')?.[label]) === w.key,
          `${spec.name}: ${w.collection} ${mine?.id}, the office's ${w.key}, holds another record on the server`,
        );
      }
    }

    // No work lost: what each tablet held at the end of phase B, written after the backup, is on
    // the server, or a later change superseded it, or a conflict archives it.
    for (const d of this.tablets[spec.name]) {
      const endOfB = this.endOfB.get(d.name) as Keyed;
      for (const [collection, records] of endOfB) {
        for (const [key, { data }] of records) {
          for (const [field, value] of Object.entries(data)) {
            const write = this.writeOf(ledger, collection, key, field, value);
            if (write === undefined || write.seq <= this.backupSeq) continue;
            const why = this.accounted(ledger, onServer, raw, conflicts, write, field);
            this.note(
              why !== null,
              `${spec.name}: ${d.name} held ${collection} ${key}.${field} = ${JSON.stringify(value)} (write ${write.seq}, ${write.device} ${write.kind}) at the end of phase B; the server holds ${JSON.stringify(onServer.get(collection)?.get(key)?.data ?? null)} and no conflict archives it`,
            );
          }
        }
      }
      // Its deletions after the backup: gone from the server, unless a later change or a conflict.
      for (const w of ledger.filter(
        (x) => x.device === d.name && x.kind === 'delete' && x.seq > this.backupSeq,
      )) {
        if (endOfB.get(w.collection)?.has(w.key)) continue;
        this.note(
          this.accounted(ledger, onServer, raw, conflicts, w, null) !== null,
          `${spec.name}: ${d.name} deleted ${w.collection} ${w.key} (write ${w.seq}) and the server holds it: ${JSON.stringify(onServer.get(w.collection)?.get(w.key)?.data)}`,
        );
      }
    }
  }

  /** A finding of the checks: all of a seed's are told together. */
  private note(ok: boolean, message: string): void {
    if (!ok) this.findings.push(message);
  }

  private tenantOf(w: Write): 'clinic' | 'vet' {
    return w.device.startsWith('vet') ? 'vet' : 'clinic';
  }

  /** The write that set `field` to `value` (values are unique per write; a reference, by key, its record's create). */
  private writeOf(
    ledger: Write[],
    collection: string,
    key: string,
    field: string,
    value: unknown,
  ): Write | undefined {
    return ledger.find(
      (w) =>
        w.collection === collection &&
        w.key === key &&
        w.kind !== 'delete' &&
        sameValue(w.fields[field], value),
    );
  }

  /**
   * Why `write` (of `field`, or the deletion when null) is not lost, or null: the server holds it,
   * a conflict archives it, or a later write of the same field (or a deletion) does and superseded it.
   */
  private accounted(
    ledger: Write[],
    onServer: Keyed,
    raw: Map<string, Map<string, RecordData>>,
    conflicts: Conflict[],
    write: Write,
    field: string | null,
  ): string | null {
    const live = onServer.get(write.collection)?.get(write.key);
    if (field === null) {
      if (live === undefined) return 'deleted on the server';
    } else if (live?.twins.some((t) => sameValue(t.data[field], write.fields[field]))) {
      return 'on the server';
    }
    // Values are unique per write: a conflict of the record whose client side holds this one archives it.
    const onRecord = (c: Conflict) => live === undefined || live.twins.some((t) => t.id === c.recordId);
    const archived = conflicts.find(
      (c) =>
        c.collection === write.collection &&
        onRecord(c) &&
        (field === null
          ? c.opType === 'delete'
          : c.client.data !== null && sameValue(c.client.data[field], write.fields[field])),
    );
    if (archived) return `conflict ${archived.id} (${archived.outcome})`;
    for (const later of ledger) {
      if (later.seq <= write.seq || later.collection !== write.collection || later.key !== write.key)
        continue;
      if (later.kind === 'delete') {
        if (this.accounted(ledger, onServer, raw, conflicts, later, null) !== null)
          return `deleted by write ${later.seq}`;
      } else if (field === null || field in later.fields) {
        const f = field ?? (Object.keys(later.fields)[0] as string);
        if (this.accounted(ledger, onServer, raw, conflicts, later, f) !== null)
          return `superseded by write ${later.seq}`;
      }
    }
    return null;
  }
}

/** A device's ops on a record, short. */
function opsOn(d: Device, id: string): string {
  const ops = d.c.queue.list().filter((o) => o.id === id);
  return ops
    .map(
      (o) =>
        `${o.type} ${o.status}${o.rejected ? ' refused' : ''} ${JSON.stringify(o.data ?? null)}${o.lastError ? ` (${o.lastError.code})` : ''}`,
    )
    .join('; ');
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function sameData(a: RecordData, b: RecordData): boolean {
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...fields].every((f) => sameValue(a[f], b[f]));
}

describe('the give-back to a restored server, under network faults', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  for (const seed of seeds) {
    it(`seed ${seed}`, async () => {
      const run = new Run(seed, cleanups);
      try {
        await run.run();
      } catch (err) {
        const replay = `replay: OUTPOST_RESTORE_SEED=${seed} npx vitest run packages/client/test/restored-under-faults.test.ts`;
        const trace = tracing
          ? `\n${run.trace.join('\n')}`
          : ' (OUTPOST_RESTORE_TRACE=1 shows what the seed did)';
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`seed ${seed}: ${message}\n${replay}${trace}`, { cause: err });
      } finally {
        if (tracing) console.log(`seed ${seed}:\n${run.trace.join('\n')}`);
      }
    }, 40_000);
  }
});
