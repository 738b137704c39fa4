import { applyPatch } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { ackedTimes } from './field-times';
import type {
  LocalConflict,
  LocalRecord,
  OutboxEntry,
  ServerState,
  StoreSnapshot,
  WriteBatch,
} from './stores/local-store';

export type { ServerState } from './stores/local-store';

export function keyOf(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}

/** Ops whose change the device still shows: not yet acknowledged, or set aside but not given up. */
export function showsInView(entry: OutboxEntry): boolean {
  return entry.status === 'pending' || entry.status === 'in-flight' || entry.status === 'failed';
}

/**
 * An op the server refused for good that the device keeps until a person discards it: shown on
 * its record (`failed`), or, refused by a signed or locked record, kept beside the server's
 * content (`conflict`).
 */
export function isRefused(entry: OutboxEntry | undefined): entry is OutboxEntry {
  return entry?.rejected === true && (entry.status === 'failed' || entry.status === 'conflict');
}

/**
 * What the device shows: the server's latest state with the device's own pending changes on top,
 * in the order they were made. A pending edit is never hidden by a server state: it is replayed
 * over it, until the server's answer to it arrives.
 */
/** What an update still shows: its data without the fields a later change set again. */
function shownPatch(op: OutboxEntry): RecordData {
  const patch = { ...(op.data ?? {}) };
  for (const field of op.superseded ?? []) delete patch[field];
  return patch;
}

export function viewOf(
  collection: string,
  id: string,
  server: ServerState | null,
  pending: readonly OutboxEntry[],
): LocalRecord | null {
  let data = server && !server.deleted ? server.data : null;
  let hlc = server?.hlc ?? '';
  let updatedAt = server?.updatedAt ?? '';
  for (const op of pending) {
    if (op.type === 'create') data = { ...(op.data ?? {}) };
    else if (op.type === 'update') data = data === null ? null : applyPatch(data, shownPatch(op));
    else data = null;
    hlc = op.hlc;
    updatedAt = op.createdAt;
  }
  if (data === null && server === null && pending.length === 0) return null;
  const view: LocalRecord = {
    collection,
    id,
    data: data ?? server?.data ?? {},
    deleted: data === null,
    version: server?.version ?? 0,
    hlc,
    updatedAt,
  };
  // Kept beneath the changes, so withdrawing one needs no server (see LocalRecord.server).
  if (server !== null && pending.length > 0) view.server = copyOf(server);
  return view;
}

/** Only the server's fields: a record given as the server state must not bring its own copy along. */
function copyOf(server: ServerState): ServerState {
  const { data, deleted, version, hlc, updatedAt } = server;
  return { data, deleted, version, hlc, updatedAt };
}

/**
 * The record as the device holds it once `op` is applied by the server at `version`: the server's
 * copy beneath the changes that still show (`shown`) now includes `op`, as the server applied it.
 * None left: the record shows the server's state itself, and keeps no copy. A copy not known
 * before (a store written before copies were kept) stays unknown: withdrawing reads it then.
 */
export function afterApplied(
  rec: LocalRecord,
  op: OutboxEntry,
  version: number,
  shown: readonly OutboxEntry[],
): LocalRecord {
  const { server, fieldTimes: _times, ...rest } = rec;
  // The fields the op set got their value on the server at a time the answer does not say.
  const times = ackedTimes(rec, op, version);
  const next: LocalRecord = { ...rest, version, ...(times !== undefined ? { fieldTimes: times } : {}) };
  if (shown.length === 0) return next;
  let data: RecordData | null;
  if (op.type === 'create') data = applyPatch({}, op.data ?? {});
  else if (op.type === 'delete') data = null;
  else if (server && server.version === rec.version && !server.deleted && server.data !== null)
    data = applyPatch(server.data, op.data ?? {});
  else return next;
  next.server = { data, deleted: data === null, version, hlc: op.hlc, updatedAt: rec.updatedAt };
  return next;
}

/**
 * The server's copy of a record the device holds, for a record it has changes on: the copy kept
 * beneath them when it is of the version shown, null for a record the server never had (version
 * 0), undefined when the device does not know it (it must be read from the server).
 */
export function heldServerCopy(rec: LocalRecord | undefined): ServerState | null | undefined {
  if (!rec || rec.version === 0) return null;
  return rec.server?.version === rec.version ? rec.server : undefined;
}

/**
 * The in-memory mirror of the store. Every read is answered from here at once; every write is
 * committed to the store first and mirrored here only after it is durable.
 */
export class LocalState {
  readonly records = new Map<string, LocalRecord>();
  readonly outbox = new Map<number, OutboxEntry>();
  readonly conflicts = new Map<string, LocalConflict>();
  meta: Record<string, unknown> = {};
  private lastSeq = 0;
  /** Outbox seqs by record, so replaying pending ops beneath a pulled change is not a scan. */
  private readonly opsByRecord = new Map<string, Set<number>>();
  /** Unresolved conflict ids by record, so a list of records tells which wait without a scan. */
  private readonly openConflicts = new Map<string, Set<string>>();

  constructor(snapshot: StoreSnapshot) {
    for (const r of snapshot.records) this.records.set(keyOf(r.collection, r.id), r);
    for (const o of snapshot.outbox) {
      this.putOp(o);
      this.lastSeq = Math.max(this.lastSeq, o.seq);
    }
    for (const c of snapshot.conflicts) this.putConflict(c);
    this.meta = { ...snapshot.meta };
    this.lastSeq = Math.max(this.lastSeq, Number(this.meta['outbox.lastSeq'] ?? 0));
  }

  /** The next outbox seq; kept in meta too, so seqs never repeat after the done ops are cleared. */
  nextSeq(): number {
    this.lastSeq += 1;
    return this.lastSeq;
  }

  get seqHighWater(): number {
    return this.lastSeq;
  }

  record(collection: string, id: string): LocalRecord | undefined {
    return this.records.get(keyOf(collection, id));
  }

  /** The ops of one record still shown in its view, in the order they were made. */
  pendingFor(collection: string, id: string): OutboxEntry[] {
    return this.opsFor(collection, id).filter(showsInView);
  }

  /** Every outbox op of one record, done ones included, in the order they were made. */
  opsFor(collection: string, id: string): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const seq of this.opsByRecord.get(keyOf(collection, id)) ?? []) {
      const op = this.outbox.get(seq);
      if (op) out.push(op);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  private putOp(op: OutboxEntry): void {
    const before = this.outbox.get(op.seq);
    if (before) this.opsByRecord.get(keyOf(before.collection, before.id))?.delete(op.seq);
    this.outbox.set(op.seq, op);
    const key = keyOf(op.collection, op.id);
    let seqs = this.opsByRecord.get(key);
    if (!seqs) this.opsByRecord.set(key, (seqs = new Set()));
    seqs.add(op.seq);
  }

  /** Whether an open conflict of this record waits for a person (one the device holds). */
  awaitsReview(collection: string, id: string): boolean {
    return (this.openConflicts.get(keyOf(collection, id))?.size ?? 0) > 0;
  }

  /** The conflicts still waiting for a person, from the index rather than a scan of them all. */
  waitingConflicts(): LocalConflict[] {
    return [...this.openConflicts.values()].flatMap((ids) =>
      [...ids].map((id) => this.conflicts.get(id) as LocalConflict),
    );
  }

  private putConflict(c: LocalConflict): void {
    this.deleteConflict(c.id);
    this.conflicts.set(c.id, c);
    if (c.resolvedAt !== undefined) return;
    const key = keyOf(c.collection, c.recordId);
    let ids = this.openConflicts.get(key);
    if (!ids) this.openConflicts.set(key, (ids = new Set()));
    ids.add(c.id);
  }

  private deleteConflict(id: string): void {
    const before = this.conflicts.get(id);
    if (!before) return;
    this.conflicts.delete(id);
    const key = keyOf(before.collection, before.recordId);
    const ids = this.openConflicts.get(key);
    ids?.delete(id);
    if (ids?.size === 0) this.openConflicts.delete(key);
  }

  private deleteOp(seq: number): void {
    const before = this.outbox.get(seq);
    if (before) this.opsByRecord.get(keyOf(before.collection, before.id))?.delete(seq);
    this.outbox.delete(seq);
  }

  /** Mirrors a batch the store has committed. */
  apply(batch: WriteBatch): void {
    for (const k of batch.deleteRecords ?? []) this.records.delete(keyOf(k.collection, k.id));
    for (const r of batch.putRecords ?? []) this.records.set(keyOf(r.collection, r.id), r);
    for (const seq of batch.deleteOps ?? []) this.deleteOp(seq);
    for (const o of batch.putOps ?? []) this.putOp(o);
    for (const id of batch.deleteConflicts ?? []) this.deleteConflict(id);
    for (const c of batch.putConflicts ?? []) this.putConflict(c);
    for (const [k, v] of Object.entries(batch.meta ?? {})) {
      if (v === undefined) delete this.meta[k];
      else this.meta[k] = v;
    }
  }
}
