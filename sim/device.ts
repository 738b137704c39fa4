/**
 * One device of a run: a client library instance over a memory store that outlives it, so the
 * device can crash and open its store again. Each incarnation of the client has its own timers
 * and its own door to the network; a crash cancels the one and shuts the other, so nothing of the
 * dead client runs on, exactly as if the tablet's battery died.
 */
import type { Schema } from '@outpost/core';
import { createSyncClient, memoryStore } from '@outpost/client';
import type {
  LocalStore,
  RecordFilters,
  StoreSnapshot,
  SyncClient,
  Timers,
  WriteBatch,
} from '@outpost/client';
import type { Prng } from './prng';
import { filtersOf, nextChoice } from './record-filters';
import type { EventHandle, Scheduler } from './scheduler';
import type { Sender, SimNetwork } from './network';

export interface DeviceProfile {
  name: string;
  tenant: string;
  userId: string;
  roles: string[];
  schema: Schema;
  /** How far this device's clock is off, in ms. */
  skewMs: number;
  batchSize: number;
  pullLimit: number;
  syncAfterWrite: boolean;
  /** Keeps the server's live stream open and pulls when it announces a change. */
  live?: boolean;
  /**
   * The record filter it opens with first (an index into record-filters.ts), or null to keep
   * everything. Absent: the run keeps no filters, and none is drawn when the device opens again.
   */
  filter?: number | null;
}

export interface DeviceDeps {
  scheduler: Scheduler;
  network: SimNetwork;
  random: Prng;
  token: string;
  /** Every batch the device's store commits, in order. */
  onCommit(device: string, batch: WriteBatch): void;
  /** Draws whether the record filter changes as the device opens again; a stream of its own. */
  filterRandom?: Prng;
}

export const serverUrl = 'http://outpost.sim';

/** The store of one incarnation: the device's memory store until the incarnation dies, then a wall. */
function incarnationStore(
  inner: LocalStore,
  alive: () => boolean,
  onCommit: (b: WriteBatch) => void,
): LocalStore {
  const never = new Promise<never>(() => {});
  return {
    kind: inner.kind,
    load: () => (alive() ? inner.load() : never),
    async commit(batch) {
      if (!alive()) return never;
      await inner.commit(batch);
      onCommit(batch);
    },
    clear: () => inner.clear(),
    close: async () => {},
  };
}

export class Device {
  readonly store = memoryStore();
  private incarnation = 0;
  private current: {
    client: SyncClient;
    alive: boolean;
    timers: Set<EventHandle>;
    events: EventTarget;
  } | null = null;
  private link = true;
  /** Local writes the client refused (a signed note, a record gone): not ops. */
  refusedLocally = 0;
  restarts = 0;
  /** The record filter of the current (or last) incarnation: an index into record-filters.ts. */
  private filterChoice: number | null;
  /** How many times the device opened with a filter other than the last one's. */
  filterChanges = 0;
  /** Whether it kept part of its records at some time of the run. */
  keptPart: boolean;

  constructor(
    readonly profile: DeviceProfile,
    private readonly deps: DeviceDeps,
  ) {
    this.filterChoice = profile.filter ?? null;
    this.keptPart = this.filterChoice !== null;
  }

  /** What the device keeps of each collection, as its client was last opened with. */
  get recordFilter(): RecordFilters | undefined {
    return filtersOf(this.profile.tenant, this.filterChoice);
  }

  get name(): string {
    return this.profile.name;
  }

  get client(): SyncClient | null {
    return this.current?.alive ? this.current.client : null;
  }

  get linkUp(): boolean {
    return this.link;
  }

  async open(): Promise<SyncClient> {
    this.incarnation += 1;
    const { scheduler, network, random, filterRandom } = this.deps;
    const p = this.profile;
    // An app update between two openings may bring another filter: narrower, wider or none.
    if (this.incarnation > 1 && p.filter !== undefined && filterRandom) {
      const next = nextChoice(filterRandom, p.tenant, this.filterChoice);
      if (next !== this.filterChoice) this.filterChanges += 1;
      this.filterChoice = next;
      if (next !== null) this.keptPart = true;
    }
    const recordFilter = this.recordFilter;
    // What the timers, the store and the network ask of this incarnation: is it still alive?
    const life = { alive: true, timers: new Set<EventHandle>(), events: new EventTarget() };
    const label = `${p.name}#${this.incarnation}`;
    const timers: Timers = {
      now: () => scheduler.now + p.skewMs,
      setTimeout: (fn, ms) => {
        const handle = scheduler.after(ms, `${label} timer ${ms}ms`, () => {
          life.timers.delete(handle);
          if (life.alive) fn();
        });
        life.timers.add(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        life.timers.delete(handle as EventHandle);
        scheduler.cancel(handle as EventHandle);
      },
    };
    const sender: Sender = {
      device: p.name,
      tenant: p.tenant,
      alive: () => life.alive,
      linkUp: () => this.link,
    };
    const client = await createSyncClient({
      schema: p.schema,
      url: serverUrl,
      getToken: async () => this.deps.token,
      store: incarnationStore(
        this.store,
        () => life.alive,
        (batch) => this.deps.onCommit(p.name, batch),
      ),
      deviceId: p.name,
      batchSize: p.batchSize,
      pullLimit: p.pullLimit,
      ...(recordFilter ? { recordFilter } : {}),
      autoSync: {
        onReconnect: true,
        intervalMs: 600_000,
        afterWrite: p.syncAfterWrite,
        live: p.live === true,
      },
      retry: { baseMs: 1_000, maxMs: 60_000, maxAttempts: 8 },
      fetch: network.fetchFor(sender),
      // Plain text bodies: the network hands the server text and logs it for replays, and gzip
      // (CompressionStream) would finish in real time, outside the seeded schedule.
      compressRequests: false,
      // Every op a person made stays listed, so the no-lost-write check can follow each one to its
      // outcome; the default (a day) would let acknowledged ones go in a run of several days.
      keepCompletedMs: Infinity,
      timers,
      random: () => random.float(),
      randomBytes: (n) => random.bytes(n),
      events: life.events,
      probeIntervalMs: 0,
    });
    this.current = Object.assign(life, { client });
    return client;
  }

  /** The battery dies: timers stop, answers in flight go nowhere, the store keeps what it committed. */
  crash(): void {
    const life = this.current;
    if (!life) return;
    life.alive = false;
    for (const handle of life.timers) this.deps.scheduler.cancel(handle);
    life.timers.clear();
    this.current = null;
    this.restarts += 1;
  }

  setLink(up: boolean): void {
    if (this.link === up) return;
    this.link = up;
    this.current?.events.dispatchEvent(new Event(up ? 'online' : 'offline'));
  }

  snapshot(): Promise<StoreSnapshot> {
    return this.store.load();
  }
}
