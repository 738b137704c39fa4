import { compareHlc } from '../hlc';
import { stableStringify } from '../stable-hash';
import type { ConflictOutcome } from '../protocol/conflicts';
import { applyPatch, changedFields, stampFields } from '../record/record-change';
import type { ConflictStrategy, RecordData } from '../schema/define-schema';
import { detectConflict, sameValue } from './detect-conflict';
import type { Detection, IncomingChange, RecordState } from './detect-conflict';

/** What a settled change does to the stored record. */
export type Effect =
  | { readonly kind: 'none' }
  /** Set these fields on the stored data (reviving a tombstone); `registers` are stamped even when unchanged. */
  | { readonly kind: 'patch'; readonly patch: RecordData; readonly registers?: readonly string[] }
  /** A create's data becomes the record's whole data (reviving a tombstone). */
  | { readonly kind: 'replace'; readonly data: RecordData }
  | { readonly kind: 'delete' };

export interface Settlement {
  /** The conflict found, if any. Every detected conflict is archived, whatever its outcome. */
  readonly detection: Detection | null;
  /** The rule that decided: the collection's (or the op's override), or merge's fallback. */
  readonly strategy: ConflictStrategy;
  /** Null when there was no conflict. */
  readonly outcome: ConflictOutcome | null;
  readonly effect: Effect;
}

export interface SettleInput {
  readonly change: IncomingChange;
  readonly current: RecordState;
  readonly strategy: ConflictStrategy;
  /** Settles what `merge` cannot: the same field changed on both sides. */
  readonly fallback: Exclude<ConflictStrategy, 'merge'>;
  /** The change's HLC: the client's, or the server's own for clients that send none. */
  readonly hlc: string;
}

const none: Effect = { kind: 'none' };

/** The change applied exactly as the client meant it (client-wins, and a person choosing the client side). */
export function clientEffect(change: IncomingChange): Effect {
  if (change.type === 'delete') return { kind: 'delete' };
  if (change.type === 'create') return { kind: 'replace', data: change.data ?? {} };
  return { kind: 'patch', patch: change.data ?? {} };
}

/**
 * Whether a write at `hlc` of `value` beats the stored one: the later HLC wins; the HLC carries
 * the node id, so two devices never tie, and an exact tie (the same op again) falls to the
 * greater value, so the rule stays deterministic and a repeat changes nothing.
 */
function beats(hlc: string, value: unknown, storedHlc: string | undefined, stored: unknown): boolean {
  if (storedHlc === undefined) return true;
  const order = compareHlc(hlc, storedHlc);
  if (order !== 0) return order > 0;
  return stableStringify(value ?? null) > stableStringify(stored ?? null);
}

/**
 * crdt: every field is a last-writer-wins register by HLC and a delete is final, so any
 * delivery order of the same ops, repeats included, ends in the same record.
 */
function settleRegisters(input: SettleInput, detection: Detection | null): Settlement {
  const { change, current, hlc } = input;
  const strategy = 'crdt';
  if (change.type === 'delete') {
    if (current.deleted) return { detection: null, strategy, outcome: null, effect: none };
    return { detection, strategy, outcome: detection ? 'client-won' : null, effect: { kind: 'delete' } };
  }
  if (current.deleted) return { detection, strategy, outcome: 'server-won', effect: none };

  const patch: RecordData = {};
  const registers: string[] = [];
  const lost: string[] = [];
  for (const [field, value] of Object.entries(change.data ?? {})) {
    const stored = current.data[field];
    if (beats(hlc, value, current.fieldMeta[field]?.hlc, stored)) {
      patch[field] = value;
      registers.push(field);
    } else if (!sameValue(value ?? undefined, stored)) {
      lost.push(field);
    }
  }
  // Disjoint edits are no conflict for registers. A change older than a field it touches is one,
  // even when the version said nothing: a device whose clock runs behind.
  const found: Detection | null =
    lost.length > 0
      ? (detection ?? { kind: 'timestamp', clientFields: lost, serverFields: lost, fields: lost })
      : detection !== null && detection.fields.length > 0
        ? detection
        : null;
  const effect: Effect = registers.length > 0 ? { kind: 'patch', patch, registers } : none;
  if (found === null) return { detection: null, strategy, outcome: null, effect };
  const outcome: ConflictOutcome =
    lost.length === 0 ? 'client-won' : registers.length === 0 ? 'server-won' : 'merged';
  return { detection: found, strategy, outcome, effect };
}

/** merge: changes to different fields combine; the same field changed on both sides goes to the fallback. */
function settleMerge(input: SettleInput, detection: Detection): Settlement {
  const { change, current } = input;
  if (change.type !== 'delete' && !current.deleted && detection.kind !== 'delete-update') {
    const data = change.data ?? {};
    if (change.type === 'update' && detection.fields.length === 0) {
      return { detection, strategy: 'merge', outcome: 'merged', effect: { kind: 'patch', patch: data } };
    }
    if (change.type === 'create') {
      // A create of a record that exists: fields only one side has combine; a field both hold
      // with different values is in dispute (a null in the create holds nothing).
      const disputed = detection.fields.filter(
        (f) => current.data[f] !== undefined && data[f] !== undefined && data[f] !== null,
      );
      if (disputed.length === 0) {
        const patch = Object.fromEntries(Object.entries(data).filter(([f]) => current.data[f] === undefined));
        return { detection, strategy: 'merge', outcome: 'merged', effect: { kind: 'patch', patch } };
      }
    }
  }
  return settleBy(input.fallback, input, detection);
}

function settleBy(strategy: ConflictStrategy, input: SettleInput, detection: Detection): Settlement {
  switch (strategy) {
    case 'server-wins':
      return { detection, strategy, outcome: 'server-won', effect: none };
    case 'manual':
      return { detection, strategy, outcome: 'open', effect: none };
    case 'client-wins':
      return { detection, strategy, outcome: 'client-won', effect: clientEffect(input.change) };
    case 'last-write-wins':
      // The whole change against the record's latest change (seed 004: the older version is archived).
      return compareHlc(input.hlc, input.current.hlc) > 0
        ? { detection, strategy, outcome: 'client-won', effect: clientEffect(input.change) }
        : { detection, strategy, outcome: 'server-won', effect: none };
    case 'merge':
      return settleMerge(input, detection);
    case 'crdt':
      return settleRegisters(input, detection);
  }
}

/**
 * The conflict engine: detects whether a change to a stored record conflicts and settles it by
 * the strategy. Pure: the server runs it for every push op that targets an existing record, and
 * the client runs the same rules when it merges locally.
 */
export function settleChange(input: SettleInput): Settlement {
  const detection = detectConflict(input.change, input.current);
  if (input.strategy === 'crdt') return settleRegisters(input, detection);
  if (detection !== null) return settleBy(input.strategy, input, detection);
  const { change, current } = input;
  // No conflict: a create equal to the stored record and a delete of a tombstone change nothing.
  if (change.type === 'create' && !current.deleted)
    return { detection, strategy: input.strategy, outcome: null, effect: none };
  if (change.type === 'delete' && current.deleted)
    return { detection, strategy: input.strategy, outcome: null, effect: none };
  return { detection, strategy: input.strategy, outcome: null, effect: clientEffect(change) };
}

/**
 * The record after an effect, as version `version` stamped with `hlc`: the fields that changed
 * (and the registers a crdt write won) get that version and HLC in the per-field metadata. The
 * record's own HLC never goes back, so it always names its latest change.
 */
export function applyEffect(
  current: RecordState | null,
  effect: Effect,
  version: number,
  hlc: string,
): RecordState {
  const before = current ?? { data: {}, version: 0, deleted: true, fieldMeta: {}, hlc };
  if (effect.kind === 'none') return before;
  const recordHlc = current && compareHlc(current.hlc, hlc) > 0 ? current.hlc : hlc;
  if (effect.kind === 'delete') {
    return { ...before, deleted: true, version, hlc: recordHlc };
  }
  const data =
    effect.kind === 'replace' ? applyPatch({}, effect.data) : applyPatch(before.data, effect.patch);
  const stamped = new Set(changedFields(before.deleted ? {} : before.data, data));
  if (effect.kind === 'patch') for (const f of effect.registers ?? []) stamped.add(f);
  return {
    data,
    version,
    deleted: false,
    fieldMeta: stampFields(before.fieldMeta, [...stamped], version, hlc),
    hlc: recordHlc,
  };
}
