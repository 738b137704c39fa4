import {
  applyPatch,
  conflictStrategies,
  dataShapeProblem,
  describeIssues,
  fieldsChangedBy,
  isTempId,
  makeTempId,
  outpostError,
  uuidv7,
} from '@outpost/core';
import type {
  Action,
  Change,
  CollectionDefinition,
  ConflictStrategy,
  HlcClock,
  RandomBytes,
  RecordData,
} from '@outpost/core';
import type { LocalDb } from './local-db';
import { takenIn, takenInKey } from './sync/record-filter';
import type { LocalRecord, OutboxEntry } from './stores/local-store';
import { isRefused, showsInView } from './local-state';
import { foldsToNothing } from './outbox/coalesce';
import { newEntry } from './outbox/new-entry';

/** A record as the application sees it. */
export interface ClientRecord<D extends RecordData = RecordData> {
  readonly collection: string;
  /** A temp id (`temp_...`) until the server assigns the real one, for server-id collections. */
  readonly id: string;
  readonly data: D;
  /** The server version the local data is based on; 0 before the server has seen the record. */
  readonly version: number;
  /** True while the device holds changes to this record the server has not confirmed. */
  readonly pending: boolean;
  /**
   * True while the device keeps a change to this record that the server refused for good (the
   * server's rejection archive has it too), until a person discards it (`queue.discard`). Mostly
   * the change stays on screen so nothing typed is lost, and the record is also `pending`, though
   * nothing of it waits to be sent: a UI says "refused", not "not synced". A change refused by a
   * signed or locked record is not shown: the record shows what the server holds, and is not
   * `pending`; this flag is then what tells the person their change did not go in.
   */
  readonly refused: boolean;
  /**
   * True while a conflict over this record, held on this device, waits for a person to settle it
   * (a collection whose rule is `manual`): the record shows the server's version meanwhile. A
   * device learns of a settlement made elsewhere at its next pull after it.
   */
  readonly awaitingReview: boolean;
  readonly updatedAt: string;
}

export interface FindQuery<D extends RecordData = RecordData> {
  /** Equality on fields, or a predicate. */
  where?: Partial<D> | ((record: ClientRecord<D>) => boolean);
  orderBy?: keyof D & string;
  direction?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

export type RecordsListener<D extends RecordData> = (records: ClientRecord<D>[]) => void;

/** Options of one change made by `update` or `delete`. */
export interface ChangeOptions {
  /**
   * The conflict rule for this change alone, should it meet a conflict on the server, in place of
   * the collection's: `'client-wins'` is "my change wins" (an admin correcting a wrong allergy
   * during an emergency). Stored with the change and sent with it. The server honours it only for
   * a role allowed to `override` the collection; for any other role it settles the change by the
   * collection's own rule, and the device shows whatever that rule decided (decision 0031).
   */
  strategy?: ConflictStrategy;
}

export interface CollectionContext {
  db: LocalDb;
  clock: HlcClock;
  now(): number;
  /** The random bits of the ids made here; the platform's by default. */
  randomBytes?: RandomBytes;
  /** Called after every local write: auto-sync hooks in here. */
  afterWrite(): void;
  /** Temp ids the server has replaced, so an id the app still holds keeps working. */
  realId(id: string): string;
  /**
   * Whether the signed-in person's roles grant `action` on the collection (`client.can`). Absent:
   * every write is taken here, and the server decides.
   */
  can?(collection: string, action: Action): boolean;
  /**
   * One record as the server holds it now (GET /v1/records/:collection/:id), null when it has
   * none; RecordUnavailableError when the server cannot be reached. Absent: the device has no
   * server to ask, and `fetch` answers from the device only.
   */
  fetchRecord?(collection: string, id: string): Promise<Change | null>;
  /**
   * Whether the device holds every record of the collection the server has: it pulls it and
   * keeps all of it (no `recordFilter`). Absent: it does.
   */
  heldWhole?(collection: string): boolean;
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/**
 * One collection of the local store. Every write commits the record and its outbox op in one
 * local transaction and is visible to reads at once; the network is never waited on.
 */
export class Collection<D extends RecordData = RecordData> {
  constructor(
    private readonly def: CollectionDefinition,
    private readonly ctx: CollectionContext,
  ) {}

  get name(): string {
    return this.def.name;
  }

  private view(r: LocalRecord): ClientRecord<D> {
    const state = this.ctx.db.state;
    // One read of the record's ops serves both flags: every record of every list passes here.
    const ops = state.opsFor(r.collection, r.id);
    return {
      collection: r.collection,
      id: r.id,
      data: r.data as D,
      version: r.version,
      pending: ops.some(showsInView),
      refused: ops.some(isRefused),
      awaitingReview: state.awaitsReview(r.collection, r.id),
      updatedAt: r.updatedAt,
    };
  }

  private validate(data: RecordData, partial: boolean): RecordData {
    // The server refuses such data too: refused here, the op never waits in the outbox to fail.
    const shapeProblem = dataShapeProblem(data);
    if (shapeProblem !== null) throw outpostError('VALIDATION_FAILED', shapeProblem);
    const schema = partial ? this.def.fields.partial() : this.def.fields;
    // A null in an update clears the field: check the fields that are set.
    const toCheck = partial ? Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null)) : data;
    const parsed = schema.safeParse(toCheck);
    if (!parsed.success) {
      throw outpostError('VALIDATION_FAILED', `invalid ${this.def.name} data`, describeIssues(parsed.error));
    }
    const shape = this.def.fields.shape as Record<string, unknown>;
    const unknown = Object.keys(data).filter((f) => !Object.hasOwn(shape, f));
    if (unknown.length > 0) {
      throw outpostError('VALIDATION_FAILED', `unknown fields for ${this.def.name}`, { fields: unknown });
    }
    return data;
  }

  /**
   * The data with each reference to a temp id the server has replaced given as the real id. A screen
   * rendered before the mapping arrived still holds the temp id; every stored record was rewritten
   * to the real one, so a record or a query naming the temp id would no longer meet its parent's
   * children (a pet left out of its owner's list, a list emptied by the sync that mapped it).
   */
  private withRealRefs<T extends RecordData>(data: T): T {
    let out: RecordData | undefined;
    for (const field of Object.keys(this.def.references)) {
      const value = data[field];
      if (typeof value !== 'string') continue;
      const real = this.ctx.realId(value);
      if (real === value) continue;
      out ??= { ...data };
      out[field] = real;
    }
    return (out ?? data) as T;
  }

  /**
   * The server's copy of a record to change that the device does not hold, read before the write
   * (`update`, `delete`): a visit older than the filter keeps, a patient of a collection not pulled.
   * Undefined when there is nothing to read: the device holds the record (deleted or not), or its
   * absence already says the record does not exist (a collection held whole, a temp id), or there
   * is no server to ask. Null when the server has none. Throws as `fetch` does:
   * `RecordUnavailableError` when the server cannot be reached, a refusal as the server said.
   */
  private async readToChange(id: string): Promise<Change | null | undefined> {
    const realId = this.ctx.realId(id);
    if (this.ctx.db.state.record(this.def.name, realId)) return undefined;
    if (this.ctx.heldWhole?.(this.def.name) !== false || isTempId(realId) || !this.ctx.fetchRecord) {
      return undefined;
    }
    return this.ctx.fetchRecord(this.def.name, realId);
  }

  /**
   * The record a change is made on, at the write's turn: the device's, or the server's copy read
   * for it (`read`, readToChange), stored with the change as any pulled record is, so the change
   * shows over it, is withdrawn against it offline, and keeps it on the device (never dropped by a
   * filter while the device holds work on it). `wasRead`: it was not on the device before.
   */
  private live(id: string, read?: Change | null): { rec: LocalRecord; wasRead: boolean } {
    const state = this.ctx.db.state;
    const rec = state.record(this.def.name, this.ctx.realId(id));
    if (rec) {
      if (rec.deleted) throw outpostError('NOT_FOUND', `${this.def.name} ${id} not found`);
      // A pull brought the record while the read was out. The device's record is followed, and the
      // base, unless the read is of a newer server state and no change of the device's shows on
      // it: then the read is that state, as a pull would apply it.
      const newer =
        read &&
        !read.deleted &&
        read.version > rec.version &&
        state.pendingFor(rec.collection, rec.id).length === 0;
      return { rec: newer ? this.fromServer(read) : rec, wasRead: false };
    }
    if (read === undefined) {
      // A collection held in part with no server to ask: the record may exist elsewhere.
      if (this.ctx.heldWhole?.(this.def.name) === false && !this.ctx.fetchRecord) {
        throw outpostError(
          'NOT_FOUND',
          `${this.def.name} ${id} is not on this device, which keeps only part of ${this.def.name}, ` +
            'and there is no server to read it from',
          { reason: 'NOT_HELD', collection: this.def.name, id },
        );
      }
      throw outpostError('NOT_FOUND', `${this.def.name} ${id} not found`);
    }
    if (read === null || read.deleted) {
      throw outpostError('NOT_FOUND', `${this.def.name} ${id} not found, on this device or on the server`, {
        reason: 'NOT_ON_SERVER',
        collection: this.def.name,
        id,
      });
    }
    return { rec: this.fromServer(read), wasRead: true };
  }

  /** A server state read from the server, as a pull stores it; the clock moves past its time. */
  private fromServer(read: Change): LocalRecord {
    this.ctx.clock.receive(read.hlc);
    return {
      collection: this.def.name,
      id: read.id,
      data: read.data ?? {},
      deleted: false,
      version: read.version,
      hlc: read.hlc,
      updatedAt: read.updatedAt,
    };
  }

  /** The record meta that lists a record taken in for a change (record-filter.ts, `takenInKey`). */
  private takenInMeta(rec: LocalRecord): Record<string, unknown> {
    const others = takenIn(this.ctx.db.state.meta).filter(
      (r) => r.collection !== rec.collection || r.id !== rec.id,
    );
    return { [takenInKey]: [...others, { collection: rec.collection, id: rec.id }] };
  }

  /**
   * A change the person's role may not make is refused here, as the server would refuse it (the
   * same message, from the same schema): nothing is stored, so nothing waits days to be refused.
   */
  private assertPermitted(action: 'create' | 'update' | 'delete'): void {
    if (this.ctx.can?.(this.def.name, action) === false) {
      throw outpostError('FORBIDDEN', `your role may not ${action} ${this.def.name}`, {
        collection: this.def.name,
        action,
      });
    }
  }

  /** Signed notes and locked forms are read-only on the device too, before the server says so. */
  private assertChangeable(rec: LocalRecord): void {
    if (this.def.isImmutable(rec.data)) {
      throw outpostError('CONFLICT', `${this.def.name} ${rec.id} is signed and can no longer change`, {
        reason: 'IMMUTABLE',
      });
    }
    if (this.def.isLocked(rec.data)) {
      throw outpostError('CONFLICT', `${this.def.name} ${rec.id} is locked`, { reason: 'LOCKED' });
    }
  }

  private entry(
    type: OutboxEntry['type'],
    id: string,
    hlc: string,
    data: RecordData | undefined,
    baseVersion: number,
    strategy?: ConflictStrategy,
  ): OutboxEntry {
    const op = {
      collection: this.def.name,
      type,
      id,
      hlc,
      // 0: a record the server has not seen (a create, or changes of one not sent yet): none.
      baseVersion: baseVersion > 0 ? baseVersion : undefined,
      ...(data !== undefined ? { data } : {}),
    };
    return newEntry(
      this.ctx.db.state,
      this.ctx.now(),
      strategy !== undefined ? { ...op, strategy } : op,
      this.ctx.randomBytes,
    );
  }

  async create(data: D, options: { id?: string } = {}): Promise<ClientRecord<D>> {
    this.assertPermitted('create');
    this.validate(data, false);
    const record = await this.ctx.db.write(() => {
      const id =
        options.id ??
        (this.def.idStrategy === 'server'
          ? makeTempId(this.def.name, this.ctx.now(), this.ctx.randomBytes)
          : uuidv7(this.ctx.now(), this.ctx.randomBytes));
      const existing = this.ctx.db.state.record(this.def.name, id);
      // A record created and deleted before any of its ops was sent: its create and delete fold to
      // nothing at the next sync (coalesceOutbox), so the id is free again, or a form named after
      // its patient could never be made again on this device.
      const neverOnServer =
        existing?.deleted === true &&
        existing.version === 0 &&
        foldsToNothing(this.ctx.db.state.opsFor(this.def.name, id));
      if (existing && !neverOnServer) {
        throw outpostError('CONFLICT', `${this.def.name} ${id} already exists`);
      }
      const hlc = this.ctx.clock.tick();
      const fields = this.withRealRefs(data);
      const op = this.entry('create', id, hlc, { ...fields }, 0);
      const rec: LocalRecord = {
        collection: this.def.name,
        id,
        data: applyPatch({}, fields),
        deleted: false,
        version: 0,
        hlc,
        updatedAt: op.createdAt,
      };
      return { batch: { putRecords: [rec], putOps: [op], meta: { 'outbox.lastSeq': op.seq } }, result: rec };
    });
    this.ctx.afterWrite();
    return this.view(record);
  }

  /**
   * Changes the fields of `patch` (those whose value differs from what the record shows), locally
   * and in the outbox, in one write. A record the device does not hold in a collection it keeps
   * only part of (`recordFilter`, `collections`) is read from the server first, as `fetch` reads
   * it, and stored beneath the change: the change shows over it and goes like any other, and the
   * record stays on the device until the server has it, then goes (decision 0027). Offline that
   * read throws `RecordUnavailableError` and nothing changes; a record the server lacks, or holds
   * deleted, is `NOT_FOUND`. `options.strategy`: this change's conflict rule (`ChangeOptions`).
   */
  async update(
    id: string,
    patch: Partial<D> | Record<string, unknown>,
    options: ChangeOptions = {},
  ): Promise<ClientRecord<D>> {
    this.assertPermitted('update');
    this.validate(patch as RecordData, true);
    const { strategy } = this.changeOptions(options);
    const read = await this.readToChange(id);
    const { record, written } = await this.ctx.db.write(() => {
      const { rec, wasRead } = this.live(id, read);
      this.assertChangeable(rec);
      const fields = this.changedFields(rec, this.withRealRefs(patch as RecordData));
      // Nothing differs from what the person sees: no op, so nothing waits to be sent.
      if (fields === null) return { batch: null, result: { record: rec, written: false } };
      const hlc = this.ctx.clock.tick();
      const op = this.entry('update', rec.id, hlc, { ...fields }, rec.version, strategy);
      const next: LocalRecord = {
        ...this.withServerCopy(rec),
        data: applyPatch(rec.data, fields),
        hlc,
        updatedAt: op.createdAt,
      };
      // Refused updates of this record stop showing the fields this change sets again. Which change
      // set each first is kept, so withdrawing that change shows the field again (outbox/withdraw.ts).
      const superseded = this.ctx.db.state
        .opsFor(this.def.name, rec.id)
        .filter((o) => o.status === 'failed' && o.type === 'update')
        .map((o) => {
          const added = Object.keys(fields).filter((f) => !(o.superseded ?? []).includes(f));
          return {
            ...o,
            superseded: [...(o.superseded ?? []), ...added],
            supersededBy: { ...o.supersededBy, ...Object.fromEntries(added.map((f) => [f, op.seq])) },
          };
        });
      const meta = { 'outbox.lastSeq': op.seq, ...(wasRead ? this.takenInMeta(rec) : {}) };
      return {
        batch: { putRecords: [next], putOps: [...superseded, op], meta },
        result: { record: next, written: true },
      };
    });
    if (written) this.ctx.afterWrite();
    return this.view(record);
  }

  /**
   * The options of a change, checked: the server refuses an op naming a strategy it does not know
   * (VALIDATION_FAILED), so it is refused here, before it waits in the outbox to fail.
   */
  private changeOptions(options: ChangeOptions): ChangeOptions {
    const { strategy } = options;
    if (strategy !== undefined && !(conflictStrategies as readonly unknown[]).includes(strategy)) {
      throw outpostError('VALIDATION_FAILED', `unknown conflict strategy: ${String(strategy)}`, {
        strategy,
        expected: conflictStrategies,
      });
    }
    return strategy !== undefined ? { strategy } : {};
  }

  /**
   * The fields of a patch whose value differs from what the record shows, or null when none does.
   * Only those are a change (seed 002's delta sync). A form saved whole would otherwise send back
   * the values the person merely saw: when a colleague changed one meanwhile, the server would take
   * the stale value as this device's edit, and revert theirs (last write wins) or hold the whole
   * change for review (merge) over a field nobody here touched.
   */
  private changedFields(rec: LocalRecord, patch: RecordData): RecordData | null {
    const changed = fieldsChangedBy(rec.data, patch);
    if (changed.length === 0) return null;
    return Object.fromEntries(changed.map((field) => [field, patch[field]]));
  }

  /**
   * The record about to take a change, with the server's copy beneath it kept: while no change of
   * the device shows on it, the record is the server's state itself, so that is the copy. Once
   * changes show, the copy already kept stays (or stays unknown, for a record stored before).
   */
  private withServerCopy(rec: LocalRecord): LocalRecord {
    if (rec.version === 0 || this.ctx.db.state.pendingFor(rec.collection, rec.id).length > 0) return rec;
    const { server: _stale, ...rest } = rec;
    const { data, deleted, version, hlc, updatedAt } = rest;
    return { ...rest, server: { data, deleted, version, hlc, updatedAt } };
  }

  /**
   * Deletes the record, locally and in the outbox; one not held is read first, as `update` reads it.
   * `options.strategy` as for `update`.
   */
  async delete(id: string, options: ChangeOptions = {}): Promise<void> {
    this.assertPermitted('delete');
    const { strategy } = this.changeOptions(options);
    const read = await this.readToChange(id);
    await this.ctx.db.write(() => {
      const { rec, wasRead } = this.live(id, read);
      this.assertChangeable(rec);
      const hlc = this.ctx.clock.tick();
      const op = this.entry('delete', rec.id, hlc, undefined, rec.version, strategy);
      // Kept as a local tombstone until the server acknowledges the delete.
      const next: LocalRecord = { ...this.withServerCopy(rec), deleted: true, hlc, updatedAt: op.createdAt };
      const meta = { 'outbox.lastSeq': op.seq, ...(wasRead ? this.takenInMeta(rec) : {}) };
      return { batch: { putRecords: [next], putOps: [op], meta }, result: next };
    });
    this.ctx.afterWrite();
  }

  async get(id: string): Promise<ClientRecord<D> | null> {
    const rec = this.ctx.db.state.record(this.def.name, this.ctx.realId(id));
    return rec && !rec.deleted ? this.view(rec) : null;
  }

  /**
   * `get`, and on a miss the record as the server holds it (seed 002's lazy loading): a visit
   * older than `recordFilter` keeps, or a patient of a collection this device does not pull, read
   * when a screen needs it. A record the device holds is answered from the device, with no request
   * (null for one it holds deleted, its delete not sent yet). On a miss: the server's record, in
   * the shape `get` gives (`pending`, `refused`, `awaitingReview` false); null when the server
   * has none or holds it deleted; `RecordUnavailableError` (`RECORD_UNAVAILABLE`) when the server
   * cannot be reached, since null would say the record does not exist; a refusal (403, 401) as
   * the server's `OutpostError`. What is read is not stored: the device would not follow its
   * changes (its collection is not pulled, or the filter keeps it out), and a copy kept would go
   * stale without a sign. So it is a read of the moment; `update` and `delete` of such a record read
   * it again and store it with the change. Two calls for one record share one request, those of
   * `update` included.
   */
  async fetch(id: string): Promise<ClientRecord<D> | null> {
    const realId = this.ctx.realId(id);
    const held = this.ctx.db.state.record(this.def.name, realId);
    if (held) return held.deleted ? null : this.view(held);
    // A temp id the server never replaced names a record that exists nowhere else.
    if (isTempId(realId) || !this.ctx.fetchRecord) return null;
    const found = await this.ctx.fetchRecord(this.def.name, realId);
    // A pull may have brought it meanwhile: the device's record, with its own changes, wins.
    const arrived = this.ctx.db.state.record(this.def.name, realId);
    if (arrived) return arrived.deleted ? null : this.view(arrived);
    if (!found || found.deleted) return null;
    return {
      collection: this.def.name,
      id: found.id,
      data: (found.data ?? {}) as D,
      version: found.version,
      pending: false,
      refused: false,
      awaitingReview: false,
      updatedAt: found.updatedAt,
    };
  }

  async find(query: FindQuery<D> = {}): Promise<ClientRecord<D>[]> {
    return this.findNow(query);
  }

  /** Calls `listener` with the query's records now and after every change to this collection. */
  subscribe(listener: RecordsListener<D>, query: FindQuery<D> = {}): () => void {
    listener(this.findNow(query));
    return this.ctx.db.subscribe((collections) => {
      if (collections.has(this.def.name) || collections.has('$outbox') || collections.has('$conflicts'))
        listener(this.findNow(query));
    });
  }

  private findNow(query: FindQuery<D>): ClientRecord<D>[] {
    const { where } = query;
    const wanted = where && typeof where !== 'function' ? this.withRealRefs(where as RecordData) : undefined;
    const out: ClientRecord<D>[] = [];
    for (const rec of this.ctx.db.state.records.values()) {
      if (rec.collection !== this.def.name || rec.deleted) continue;
      const view = this.view(rec);
      if (typeof where === 'function') {
        if (!where(view)) continue;
      } else if (wanted) {
        const data = rec.data as RecordData;
        if (!Object.entries(wanted).every(([f, v]) => data[f] === v)) continue;
      }
      out.push(view);
    }
    if (query.orderBy !== undefined) {
      const field = query.orderBy;
      const sign = query.direction === 'desc' ? -1 : 1;
      out.sort((a, b) => sign * compareValues(a.data[field], b.data[field]));
    }
    const offset = query.offset ?? 0;
    return out.slice(offset, query.limit !== undefined ? offset + query.limit : undefined);
  }
}
