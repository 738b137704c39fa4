/**
 * The five properties every run must end in, one function each, over what the server and every
 * device hold after healing and a final sync round (plus the history the network recorded).
 */
import { isTempId, opErrorCodes, parseTempId, stableStringify } from '@outpost/core';
import type { RecordData, Rejection, Schema } from '@outpost/core';
import type { LocalRecord, OutboxEntry, RecordFilters, StoreSnapshot } from '@outpost/client';
import type { StoredConflict, StoredOp, StoredRejection } from '@outpost/server';
import { showsInView, viewOf } from '../packages/client/src/local-state';
// The client's own reading of a filter (one that throws keeps the record): what a filter says is
// not under test here, only that the device holds what it says.
import { keeps } from '../packages/client/src/sync/record-filter';
import type { Ledger } from './ledger';
import type { ServerHistory } from './history';
import { recordKeyOf } from './history';
import type { Violation } from './violation';

export interface ServerRecordState {
  collection: string;
  id: string;
  version: number;
  deleted: boolean;
  data: RecordData | null;
  hlc: string;
  updatedAt: string;
}

export interface TenantFinal {
  tenant: string;
  schema: Schema;
  /** Every record the server holds, tombstones included, by `collection\0id`. */
  records: Map<string, ServerRecordState>;
  /** The op journal, by opId. */
  journal: Map<string, StoredOp>;
  /** The conflict archive. */
  archive: StoredConflict[];
  /** The rejection archive, by opId. */
  rejections: Map<string, StoredRejection>;
}

export interface DeviceFinal {
  name: string;
  tenant: string;
  snapshot: StoreSnapshot;
  /** The opIds of the archived conflicts this device's user can list (GET /v1/conflicts). */
  visibleConflictOpIds: ReadonlySet<string>;
  /** The rejections this device's user can list (GET /v1/rejections), by opId. */
  visibleRejections: ReadonlyMap<string, Rejection>;
  /** What the device keeps of each collection (`recordFilter`), as it last opened; absent: all. */
  recordFilter?: RecordFilters;
}

export interface FinalState {
  tenants: Map<string, TenantFinal>;
  devices: DeviceFinal[];
  ledger: Ledger;
  history: ServerHistory;
}

/** Counts the checks met by design rather than by the server applying the op (see docs/simulation.md). */
export interface ByDesign {
  /** Ops the server refused for good (a reference gone, a record gone): in its rejection archive, failed and shown on the device. */
  rejectionsArchived: number;
  /** Ops a person queued on the device until the record they reference is there. */
  heldOnDevice: number;
  /** Ops folded away with their record's create and delete before anything was sent. */
  foldedAway: number;
  /** Live records whose parent was deleted after they named it (orphans, seed 003). */
  orphans: number;
  /** Refused ops a person dismissed on the device once read: in the server's rejection archive still. */
  dismissed: number;
  /** Live server records a device does not hold because its record filter leaves them out. */
  filteredOut: number;
}

export function noByDesign(): ByDesign {
  return { rejectionsArchived: 0, heldOnDevice: 0, foldedAway: 0, orphans: 0, dismissed: 0, filteredOut: 0 };
}

const key = (collection: string, id: string) => `${collection}\u0000${id}`;
const same = (a: unknown, b: unknown) => stableStringify(a ?? null) === stableStringify(b ?? null);
/** Op error codes the server answers; anything else on a failed op is the network's. */
const serverCodes = new Set<string>(opErrorCodes);

function tenantOf(final: FinalState, tenant: string): TenantFinal {
  const t = final.tenants.get(tenant);
  if (!t) throw new Error(`no final state for tenant ${tenant}`);
  return t;
}

/**
 * 1. Convergence: every device shows exactly the server's records. By design a device also keeps
 * showing its own changes the server refused (failed ops are never dropped, docs/client.md) and
 * ops it holds back: the device's state must be the server's with exactly those replayed on top.
 * Nothing may be left pending, in flight, or failed for a network reason after healing. A conflict
 * the device still shows as waiting for a person is still open on the server: a settlement made
 * on another device reaches it at its next pull (decisions/0020).
 *
 * A device with a record filter (seed 002's selective sync) holds, of a filtered collection, the
 * server's records its filter keeps, and those it holds work of its own on whatever the filter
 * says: a change the server refused, shown or kept beside the server's copy, or a conflict
 * waiting for a person (decisions/0027). Any other record its filter leaves out must be gone from
 * it: not pulled, or pruned once the device's own change on it was confirmed.
 */
export function convergence(final: FinalState, byDesign: ByDesign = noByDesign()): Violation[] {
  const out: Violation[] = [];
  const fail = (message: string) => out.push({ invariant: 'convergence', message });
  for (const device of final.devices) {
    const server = tenantOf(final, device.tenant);
    const kept = device.snapshot.outbox.filter(showsInView).sort((a, b) => a.seq - b.seq);
    for (const op of kept) {
      const what = `${device.name}: ${op.type} ${op.collection} ${op.id} (op ${op.opId})`;
      if (op.status === 'in-flight') fail(`${what} is still in flight after healing`);
      else if (op.status === 'pending' && op.heldReason === undefined)
        fail(`${what} is still pending after the final sync round`);
      else if (op.status === 'failed' && !serverCodes.has(op.lastError?.code ?? ''))
        fail(`${what} failed for a network reason (${op.lastError?.code}) and was never delivered`);
    }
    const archived = new Map(server.archive.map((c) => [c.id, c]));
    for (const c of device.snapshot.conflicts) {
      const onServer = archived.get(c.id);
      if (c.resolvedAt === undefined && onServer && onServer.resolvedAt !== null)
        fail(
          `${device.name}: conflict ${c.id} over ${c.collection} ${c.recordId} still waits for a person on the device, settled (${onServer.outcome}) on the server`,
        );
    }
    const local = new Map<string, LocalRecord>();
    for (const r of device.snapshot.records) local.set(key(r.collection, r.id), r);
    const ownWork = ownWorkOf(device.snapshot);
    const keys = new Set([...server.records.keys(), ...local.keys()]);
    for (const k of keys) {
      const s = server.records.get(k);
      const l = local.get(k);
      const [collection, id] = k.split('\u0000') as [string, string];
      if (
        s &&
        !s.deleted &&
        !ownWork.has(k) &&
        !keeps(device.recordFilter, collection, { ...s, data: s.data ?? {} })
      ) {
        if (l !== undefined && !l.deleted)
          fail(
            `${device.name}: ${collection} ${id}${opsOn(device.snapshot.outbox, collection, id)} is shown on the device, which its record filter leaves out`,
          );
        else byDesign.filteredOut += 1;
        continue;
      }
      const pending = kept.filter((o) => o.collection === collection && o.id === id);
      const expected = viewOf(collection, id, s ? { ...s } : null, pending);
      const expectLive = expected !== null && !expected.deleted;
      const isLive = l !== undefined && !l.deleted;
      const what = `${device.name}: ${collection} ${id}${opsOn(device.snapshot.outbox, collection, id)}`;
      if (expectLive !== isLive) {
        fail(
          `${what} is ${isLive ? 'shown' : 'missing'} on the device, ${expectLive ? 'live' : 'absent'} on the server`,
        );
        continue;
      }
      if (!expectLive || !l || !expected) continue;
      if (!same(l.data, expected.data))
        fail(`${what}: device shows ${stableStringify(l.data)}, server ${stableStringify(expected.data)}`);
      else if (pending.length === 0 && s && l.version !== s.version)
        fail(`${what}: device holds v${l.version}, server v${s.version}`);
    }
  }
  return out;
}

/**
 * The records a device holds work of its own on, by `collection\0id`, which no filter removes:
 * an op not confirmed or refused and kept (shown on the record, or beside a signed or locked
 * record's content), and a conflict not settled.
 */
function ownWorkOf(snapshot: StoreSnapshot): Set<string> {
  const out = new Set<string>();
  for (const op of snapshot.outbox)
    if (showsInView(op) || (op.status === 'conflict' && op.rejected === true))
      out.add(key(op.collection, op.id));
  for (const c of snapshot.conflicts) if (c.resolvedAt === undefined) out.add(key(c.collection, c.recordId));
  return out;
}

/**
 * 2. No lost write: every op a person made on a device is applied on the server, or recorded as
 * a conflict (both versions in the conflict archive, the conflict on the device and listed for
 * its user) or as a rejection (the data as sent in the rejection archive, listed for its user, and
 * the device keeping the op with the server's reason; a signed or locked record's refusal is in
 * both archives). Ops the outbox folded into a later one count through that op; a create and
 * delete folded together before sending needed nothing from the server.
 */
export function noLostWrite(final: FinalState, byDesign: ByDesign = noByDesign()): Violation[] {
  const out: Violation[] = [];
  const fail = (message: string) => out.push({ invariant: 'no-lost-write', message });
  for (const device of final.devices) {
    const server = tenantOf(final, device.tenant);
    const outbox = new Map<string, OutboxEntry>(device.snapshot.outbox.map((o) => [o.opId, o]));
    const localConflicts = new Set(device.snapshot.conflicts.map((c) => c.opId));
    const archived = new Map<string, StoredConflict>();
    for (const c of server.archive) archived.set(c.opId, c);
    const mappings = (device.snapshot.meta['tempIds'] ?? {}) as Record<string, string>;
    for (const made of final.ledger.opsOf(device.name)) {
      const carrier = final.ledger.carrierOf(made);
      const what = `${device.name}: ${made.type} ${made.collection} ${made.madeId} (op ${made.opId})`;
      if (carrier.annihilated) {
        if (carrier.annihilated.create && carrier.annihilated.delete) byDesign.foldedAway += 1;
        else fail(`${what} was folded away without its record's create and delete`);
        continue;
      }
      const op = carrier.dismissed ?? outbox.get(carrier.opId);
      if (!op) {
        fail(`${what} vanished from the outbox`);
        continue;
      }
      const journaled = server.journal.get(op.opId);
      const status = journaled?.result.status;
      const archivedConflict = archived.get(op.opId);
      const checkRejection = () => {
        const kept = server.rejections.get(op.opId);
        if (!kept) return fail(`${what}: refused, but not in the server's rejection archive`);
        if (!device.visibleRejections.has(op.opId))
          fail(`${what}: its user cannot list the archived rejection`);
        if (kept.error.code !== journaled?.result.error?.code)
          fail(`${what}: archived as ${kept.error.code}, answered ${journaled?.result.error?.code}`);
        const archivedData =
          kept.data === null ? null : resolveRefs(server.schema, op.collection, kept.data, mappings);
        const sent =
          op.type === 'delete' ? null : resolveRefs(server.schema, op.collection, op.data ?? {}, mappings);
        if (!same(archivedData, sent))
          fail(
            `${what}: rejection archived ${stableStringify(kept.data)}, sent ${stableStringify(op.data ?? null)}`,
          );
      };
      const checkArchived = () => {
        if (!archivedConflict) return fail(`${what}: conflict not in the server's archive`);
        if (!localConflicts.has(op.opId)) fail(`${what}: the device does not show its conflict`);
        if (!device.visibleConflictOpIds.has(op.opId))
          fail(`${what}: its user cannot list the archived conflict`);
        const sent =
          op.type === 'delete' ? null : resolveRefs(server.schema, op.collection, op.data ?? {}, mappings);
        if (!same(archivedConflict.clientData, sent))
          fail(
            `${what}: archived ${stableStringify(archivedConflict.clientData)}, sent ${stableStringify(sent)}`,
          );
      };
      if (carrier.dismissed) {
        // Dismissed by a person once refused: the server's word and its archive still hold it.
        if (status !== 'rejected')
          fail(`${what}: dismissed on the device, "${status ?? 'unknown'}" on the server`);
        else {
          checkRejection();
          byDesign.dismissed += 1;
        }
      } else if (op.status === 'done') {
        if (status !== 'applied') fail(`${what}: done on the device, "${status ?? 'unknown'}" on the server`);
        else if (journaled?.result.conflict) checkArchived();
      } else if (op.status === 'conflict') {
        const refused =
          status === 'rejected' &&
          (journaled?.result.error?.code === 'IMMUTABLE' || journaled?.result.error?.code === 'LOCKED');
        if (status !== 'conflict' && !refused)
          fail(`${what}: a conflict on the device, "${status ?? 'unknown'}" on the server`);
        else {
          checkArchived();
          if (refused) checkRejection();
        }
      } else if (op.status === 'failed') {
        if (status !== 'rejected')
          fail(`${what}: failed on the device, "${status ?? 'never received'}" on the server`);
        else if (op.lastError?.code !== journaled?.result.error?.code)
          fail(
            `${what}: the device shows ${op.lastError?.code}, the server said ${journaled?.result.error?.code}`,
          );
        else {
          const parent = parentCreatedHere(journaled?.result.error?.details, mappings, server);
          if (parent)
            fail(`${what}: refused for ${parent}, which this device created: it was sent before its parent`);
          else {
            checkRejection();
            byDesign.rejectionsArchived += 1;
          }
        }
      } else if (op.status === 'pending' && op.heldReason !== undefined) {
        if (journaled) fail(`${what}: held on the device, yet the server has it as "${status}"`);
        else byDesign.heldOnDevice += 1;
      } else {
        fail(`${what} is ${op.status} after healing${journaled ? ` ("${status}" on the server)` : ''}`);
      }
    }
  }
  return out;
}

/**
 * A refusal for a missing parent is the server's word only when the parent really was missing:
 * one this device created, and the server holds by the end, was simply sent too late.
 */
function parentCreatedHere(
  details: unknown,
  mappings: Record<string, string>,
  server: TenantFinal,
): string | null {
  const tempId = (details as { tempId?: unknown } | undefined)?.tempId;
  if (!isTempId(tempId)) return null;
  const real = mappings[tempId];
  const collection = parseTempId(tempId)?.collection;
  if (real === undefined || collection === undefined) return null;
  const parent = server.records.get(key(collection, real));
  return parent && !parent.deleted ? `${collection} ${tempId} (now ${real})` : null;
}

function sameData(data: RecordData | null, frozenJson: string): boolean {
  return stableStringify(data) === stableStringify(JSON.parse(frozenJson));
}

/** The device's ops on one record, for a violation's message. */
function opsOn(outbox: readonly OutboxEntry[], collection: string, id: string): string {
  const ops = outbox.filter((o) => o.collection === collection && o.id === id);
  return ops.length > 0 ? ` [ops: ${ops.map(describeOp).join(', ')}]` : '';
}

function describeOp(o: OutboxEntry): string {
  const error = o.lastError ? ` ${o.lastError.code}` : '';
  const held = o.heldReason !== undefined ? ' held' : '';
  return `${o.type} ${stableStringify(o.data ?? null)} ${o.status}${error}${held} (op ${o.opId})`;
}

function resolveRefs(
  schema: Schema,
  collection: string,
  data: RecordData,
  mappings: Record<string, string>,
): RecordData {
  const out = { ...data };
  for (const field of Object.keys(schema.collection(collection)?.references ?? {})) {
    const value = out[field];
    if (isTempId(value) && mappings[value] !== undefined) out[field] = mappings[value];
  }
  return out;
}

/**
 * 3. Exactly once: no op ran twice (a second fresh answer to one opId, a duplicate answered
 * differently from the first time), versions rose by one per applied change with every stored
 * version accounted for by an answer, and the op journal agrees with the answers given.
 */
export function exactlyOnce(final: FinalState): Violation[] {
  const out: Violation[] = final.history.violations.filter((v) => v.invariant === 'exactly-once');
  const fail = (message: string) => out.push({ invariant: 'exactly-once', message });
  for (const server of final.tenants.values()) {
    for (const [opId, op] of server.journal) {
      const first = final.history.firstOutcome.get(`${server.tenant}\u0000${opId}`);
      if (!first)
        fail(`${server.tenant}: op ${opId} is journaled as ${op.result.status} but was never answered`);
      else if (first.status !== op.result.status || first.version !== op.result.version)
        fail(
          `${server.tenant}: op ${opId} journaled ${op.result.status} v${op.result.version}, answered ${first.status} v${first.version}`,
        );
    }
    for (const [k, r] of server.records) {
      const seen = final.history.records.get(recordKeyOf(server.tenant, r.collection, r.id));
      if (!seen || seen.version !== r.version)
        fail(
          `${server.tenant}: ${k.replace('\u0000', ' ')} is v${r.version}, the history saw v${seen?.version ?? 0}`,
        );
    }
  }
  return out;
}

/**
 * 4. Immutability: a clinical note once signed and an intake form once locked never changed
 * again on the server, in any request of the run, and every device shows them as signed (unless
 * it has its own unsent or refused change on the record, which it shows on top, marked pending).
 */
export function immutability(final: FinalState): Violation[] {
  const out: Violation[] = final.history.violations.filter((v) => v.invariant === 'immutability');
  for (const seen of final.history.records.values()) {
    if (!seen.frozen) continue;
    const server = tenantOf(final, seen.tenant).records.get(key(seen.collection, seen.id));
    if (!server || server.deleted || !sameData(server.data, seen.frozen.dataJson)) {
      out.push({
        invariant: 'immutability',
        message: `${seen.tenant} ${seen.collection} ${seen.id} no longer holds the data it was ${seen.frozen.rule === 'immutable' ? 'signed' : 'locked'} with`,
      });
    }
    for (const device of final.devices.filter((d) => d.tenant === seen.tenant)) {
      const local = device.snapshot.records.find((r) => r.collection === seen.collection && r.id === seen.id);
      // A device's own change it has not sent (held back) or that was refused stays shown on top,
      // marked pending (see convergence); without one, the device must show the signed data.
      const ownChange = device.snapshot.outbox.some(
        (o) => o.collection === seen.collection && o.id === seen.id && showsInView(o),
      );
      if (local && !local.deleted && !ownChange && !sameData(local.data, seen.frozen.dataJson)) {
        out.push({
          invariant: 'immutability',
          message: `${device.name} shows ${seen.collection} ${seen.id} as ${stableStringify(local.data)}, not as it was ${seen.frozen.rule === 'immutable' ? 'signed' : 'locked'}: ${seen.frozen.dataJson}${opsOn(device.snapshot.outbox, seen.collection, seen.id)}`,
        });
      }
    }
  }
  return out;
}

/**
 * 5. References: once temp ids resolve, no record names an id that does not exist. The server
 * stores no temp id and every reference names a record it holds; a parent deleted after the child
 * named it leaves an orphan, which seed 003's orphan handling deals with (counted, not a fault).
 * A device holds no temp id the server has mapped, and names no record that exists nowhere,
 * except one whose refused create a person dismissed on that device (an orphan too: counted).
 */
export function references(final: FinalState, byDesign: ByDesign = noByDesign()): Violation[] {
  const out: Violation[] = [];
  const fail = (message: string) => out.push({ invariant: 'references', message });
  for (const server of final.tenants.values()) {
    for (const r of server.records.values()) {
      if (r.deleted || !r.data) continue;
      const refs = server.schema.collection(r.collection)?.references ?? {};
      for (const [field, target] of Object.entries(refs)) {
        const value = r.data[field];
        if (typeof value !== 'string') continue;
        const what = `${server.tenant}: ${r.collection} ${r.id}.${field} = ${value}`;
        if (isTempId(value)) fail(`${what}: a temp id stored on the server`);
        else {
          const parent = server.records.get(key(target, value));
          if (!parent) fail(`${what}: no ${target} record has that id`);
          else if (parent.deleted) byDesign.orphans += 1;
        }
      }
    }
  }
  for (const device of final.devices) {
    const server = tenantOf(final, device.tenant);
    const mappings = (device.snapshot.meta['tempIds'] ?? {}) as Record<string, string>;
    const local = new Set(device.snapshot.records.map((r) => key(r.collection, r.id)));
    const dismissedCreates = new Set(
      final.ledger
        .opsOf(device.name)
        .flatMap((o) =>
          o.dismissed?.type === 'create' ? [key(o.dismissed.collection, o.dismissed.id)] : [],
        ),
    );
    for (const r of device.snapshot.records) {
      if (r.deleted) continue;
      for (const [field, target] of Object.entries(
        server.schema.collection(r.collection)?.references ?? {},
      )) {
        const value = r.data[field];
        if (typeof value !== 'string') continue;
        const what = `${device.name}: ${r.collection} ${r.id}.${field} = ${value}`;
        if (isTempId(value) && mappings[value] !== undefined)
          fail(`${what}: the temp id was mapped but not rewritten`);
        else if (!local.has(key(target, value)) && !server.records.has(key(target, value))) {
          if (dismissedCreates.has(key(target, value))) byDesign.orphans += 1;
          else fail(`${what}: names a record that exists nowhere`);
        }
      }
    }
  }
  return out;
}

export const invariants = { convergence, noLostWrite, exactlyOnce, immutability, references };
