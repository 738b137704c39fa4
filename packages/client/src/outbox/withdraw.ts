/**
 * Withdrawing changes before they are sent (`client.queue.withdraw`): which ops may go, and which
 * go with them. Pure: it reads the device's state and changes nothing. The sync engine does the
 * write (sync-engine.ts, `withdraw`); decisions/0023 says why it works this way.
 */
import { outpostError } from '@outpost/core';
import type { Schema } from '@outpost/core';
import { keyOf } from '../local-state';
import type { LocalState } from '../local-state';
import type { LocalFile } from '../files/local-file-store';
import type { OutboxEntry } from '../stores/local-store';

/**
 * Why an op cannot be withdrawn:
 * - `unknown`: the device holds no such op (withdrawn already, folded into an earlier change of its
 *   record at a push, or confirmed and cleared);
 * - `answered`: the server has answered it (applied, in conflict, or refused: `queue.discard`);
 * - `in-flight`: it is being sent right now;
 * - `sent`: it left the device before and no answer came (the link dropped, the answer was lost,
 *   a failure after it left): the server may already hold it.
 */
export type WithdrawBlock = 'unknown' | 'answered' | 'in-flight' | 'sent';

export interface WithdrawalPlan {
  /** Every op that goes: the ones asked for and those that depend on them, in the order made. */
  readonly ops: readonly OutboxEntry[];
  /** Of `ops`, the ones not asked for: later changes of the same record, changes naming a record whose create goes. */
  readonly dependents: readonly OutboxEntry[];
  /**
   * The files attached on this device to the records whose create goes (records the server never
   * had): they go with their record, so a screen names them in its confirmation. Never named in
   * `seqs`. Those the server may hold part of are deleted there by the next sync. Empty when the
   * plan was made without the device's files.
   */
  readonly files: readonly LocalFile[];
  /** The ops that cannot be withdrawn, and why; the withdrawal can be made only when this is empty. */
  readonly blocked: ReadonlyArray<{
    readonly seq: number;
    readonly reason: WithdrawBlock;
    readonly op?: OutboxEntry;
  }>;
}

/**
 * An op that can be withdrawn: waiting on the device and never handed to the network. `sent` is
 * stored before a request leaves (markInFlight), and a failed send counts an attempt, so an op
 * without either is one the server cannot have seen.
 */
export function isWithdrawable(op: OutboxEntry): boolean {
  return op.status === 'pending' && op.sent !== true && op.attempts === 0;
}

/** Still to reach the server: waiting, in flight, or stopped after failed sends (not refused). */
export function stillToGo(op: OutboxEntry): boolean {
  return (
    op.status === 'pending' || op.status === 'in-flight' || (op.status === 'failed' && op.rejected !== true)
  );
}

/** A create of a record the server never had (version 0): withdrawn, the record goes, and with it its files. */
export function createsNewRecord(state: LocalState, op: OutboxEntry): boolean {
  return op.type === 'create' && (state.record(op.collection, op.id)?.version ?? 0) === 0;
}

/** The records the server never had whose create is among `ops`: they go with the withdrawal. */
export function newRecordsOf(
  state: LocalState,
  ops: readonly OutboxEntry[],
): Array<{ collection: string; id: string }> {
  return ops.filter((o) => createsNewRecord(state, o)).map((o) => ({ collection: o.collection, id: o.id }));
}

function blockOf(op: OutboxEntry): WithdrawBlock | null {
  if (isWithdrawable(op)) return null;
  if (op.status === 'in-flight') return 'in-flight';
  if (!stillToGo(op)) return 'answered';
  return 'sent';
}

/**
 * What withdrawing `seqs` takes. A change goes with the changes that were made on top of it:
 * - the later changes of the same record: each was made on the record as it showed with this one
 *   (an update carries only the fields that differed from what the person saw), and left alone
 *   they would make a state of the record nobody saw;
 * - for a create of a record the server never had (version 0: a patient registered offline, under
 *   a temp id or not), every change still to go that names that record in a reference field (an
 *   encounter of the patient), and theirs in turn: sent, they would point at a record that will
 *   never exist, and the server would refuse them for good.
 * Changes the server already answered are not taken along: nothing sends them again.
 * `files` are the device's files as `client.files.list()` gives them (record ids real where the
 * server gave one): those of this device attached to a record whose create goes are in the plan's
 * `files`. Without them, the plan's `files` is empty.
 */
export function planWithdrawal(
  schema: Schema,
  state: LocalState,
  seqs: readonly number[],
  files: readonly LocalFile[] = [],
): WithdrawalPlan {
  const named = new Set(seqs);
  const blocked: Array<{ seq: number; reason: WithdrawBlock; op?: OutboxEntry }> = [];
  const chosen = new Map<number, OutboxEntry>();
  const queue: OutboxEntry[] = [];
  for (const seq of named) {
    const op = state.outbox.get(seq);
    if (op) queue.push(op);
    else blocked.push({ seq, reason: 'unknown' });
  }
  let referrers: Map<string, OutboxEntry[]> | null = null;
  while (queue.length > 0) {
    const op = queue.pop() as OutboxEntry;
    if (chosen.has(op.seq)) continue;
    chosen.set(op.seq, op);
    const reason = blockOf(op);
    if (reason !== null) {
      blocked.push({ seq: op.seq, reason, op });
      continue;
    }
    for (const later of state.opsFor(op.collection, op.id)) {
      if (later.seq > op.seq && stillToGo(later)) queue.push(later);
    }
    if (createsNewRecord(state, op)) {
      referrers ??= referencesByTarget(schema, state);
      queue.push(...(referrers.get(keyOf(op.collection, op.id)) ?? []));
    }
  }
  const ops = [...chosen.values()].filter((o) => blockOf(o) === null).sort((a, b) => a.seq - b.seq);
  const gone = new Set(newRecordsOf(state, ops).map((r) => keyOf(r.collection, r.id)));
  return {
    ops,
    dependents: ops.filter((o) => !named.has(o.seq)),
    files: files.filter((f) => f.origin === 'device' && gone.has(keyOf(f.collection, f.recordId))),
    blocked: blocked.sort((a, b) => a.seq - b.seq),
  };
}

/**
 * The failed updates of one record that show again what only withdrawn changes had set again.
 * A later change marks the fields it sets `superseded` on a failed update, so a refusal kept on
 * screen does not bring back a value the person replaced. Withdrawn, that later change no longer
 * replaced anything: the record shows again as it did before it, the refused value included. A
 * field stays superseded when the first change that set it again stays (made before the earliest
 * one withdrawn: a withdrawal takes every later change of the record still to go). A field marked
 * by an older version, which did not say which change set it, stays as it was.
 */
export function shownAgain(ops: readonly OutboxEntry[], gone: ReadonlySet<number>): OutboxEntry[] {
  const first = Math.min(...ops.filter((o) => gone.has(o.seq)).map((o) => o.seq));
  const out: OutboxEntry[] = [];
  for (const op of ops) {
    if (op.seq >= first || op.superseded === undefined || op.supersededBy === undefined) continue;
    const by = op.supersededBy;
    const back = op.superseded.filter((f) => by[f] !== undefined && by[f] >= first);
    if (back.length === 0) continue;
    const superseded = op.superseded.filter((f) => !back.includes(f));
    const supersededBy = Object.fromEntries(Object.entries(by).filter(([f]) => !back.includes(f)));
    const { superseded: _fields, supersededBy: _by, ...rest } = op;
    out.push({
      ...rest,
      ...(superseded.length > 0 ? { superseded } : {}),
      ...(Object.keys(supersededBy).length > 0 ? { supersededBy } : {}),
    });
  }
  return out;
}

/** The ops still to go, by the record each of their reference fields names. */
function referencesByTarget(schema: Schema, state: LocalState): Map<string, OutboxEntry[]> {
  const out = new Map<string, OutboxEntry[]>();
  for (const op of state.outbox.values()) {
    if (!stillToGo(op) || op.data === undefined) continue;
    for (const [field, target] of Object.entries(schema.collection(op.collection)?.references ?? {})) {
      const value = op.data[field];
      if (typeof value !== 'string') continue;
      const key = keyOf(target, value);
      const list = out.get(key);
      if (list) list.push(op);
      else out.set(key, [op]);
    }
  }
  return out;
}

/** How a change is named in an error a person may read. */
function named(op: OutboxEntry): string {
  return `${op.type} of ${op.collection} ${op.id} (change ${op.seq})`;
}

const blockWords: Readonly<Record<WithdrawBlock, string>> = {
  unknown: 'is not waiting on this device (already withdrawn, folded into an earlier change, or sent)',
  answered: 'has been answered by the server (a refused change goes with queue.discard)',
  'in-flight': 'is being sent right now',
  sent: 'has left the device before and its answer never came: the server may already have it',
};

/**
 * Throws unless the plan can be carried out as asked: every op it takes can be withdrawn, and every
 * op it takes was asked for. Dependents are never taken silently: the error names them, and the
 * caller asks again with them (after telling the person, as the clinic app's confirmation does).
 */
export function assertWithdrawable(plan: WithdrawalPlan): void {
  const unknown = plan.blocked.filter((b) => b.reason === 'unknown');
  if (unknown.length > 0) {
    throw outpostError(
      'NOT_FOUND',
      `change ${unknown.map((b) => b.seq).join(', ')} ${blockWords.unknown}: nothing was withdrawn`,
      { reason: 'NOT_WAITING', seqs: unknown.map((b) => b.seq) },
    );
  }
  if (plan.blocked.length > 0) {
    const words = plan.blocked.map(
      (b) => `${b.op ? named(b.op) : `change ${b.seq}`} ${blockWords[b.reason]}`,
    );
    throw outpostError('CONFLICT', `cannot withdraw: ${words.join('; ')}. Nothing was withdrawn`, {
      reason: plan.blocked.some((b) => b.reason === 'in-flight') ? 'IN_FLIGHT' : 'SENT',
      blocked: plan.blocked.map((b) => ({ seq: b.seq, reason: b.reason })),
    });
  }
  if (plan.dependents.length > 0) {
    throw outpostError(
      'CONFLICT',
      `withdrawing these would leave changes that build on them: ${plan.dependents.map(named).join('; ')}. ` +
        'Withdraw them too (queue.planWithdrawal lists them). Nothing was withdrawn',
      {
        reason: 'DEPENDENTS',
        dependents: plan.dependents.map((o) => ({
          seq: o.seq,
          collection: o.collection,
          id: o.id,
          type: o.type,
        })),
      },
    );
  }
}
