import { compareHlc } from '../hlc';
import type { ConflictOutcome } from '../protocol/conflicts';
import type { OpType } from '../protocol/push';
import type { RecordData } from '../schema/define-schema';
import { sameValue } from './detect-conflict';
import { clientEffect } from './settle-change';
import type { Effect } from './settle-change';

/** The rules a person may settle an archived conflict by (POST /v1/conflicts/:id/resolve). */
export const resolutionStrategies = ['server-wins', 'client-wins', 'last-write-wins', 'merge'] as const;
export type ResolutionStrategy = (typeof resolutionStrategies)[number];

/** The client's side of an archived conflict, as the archive keeps it. */
export interface ArchivedChange {
  readonly opType: OpType;
  readonly clientData: RecordData | null;
  readonly clientHlc: string;
  /** The HLC of the server's latest change when the conflict was detected. */
  readonly serverHlc: string;
  /** The server's version of the data when the conflict was detected; null when it was deleted. */
  readonly serverData: RecordData | null;
  /** How the conflict stands now: settled for the client (client-won, merged) or not. */
  readonly outcome: ConflictOutcome;
}

/** What a person's resolution does, or why it cannot be applied as the record stands. */
export interface Resolution {
  readonly outcome: ConflictOutcome;
  readonly effect: Effect;
  /**
   * Present when the choice would overwrite work done after the conflict: `fields` edited since
   * that the choice would set to another value, or `deleted`: the record was deleted since and
   * the choice would bring it back. The effect is then none: the caller refuses the resolution.
   */
  readonly collision?: { readonly fields: readonly string[]; readonly deleted: boolean };
}

/**
 * What a person's resolution does to the record as it stands now (`current`: its data, or null
 * while it is deleted). `settled`: fields whose current value this conflict's last resolution
 * wrote and no one changed since (they are the desk's own, not later work).
 * - server-wins: nothing, the stored version being the server's side; unless the conflict was
 *   settled for the client before (by its collection's rule or by a person): then the client's
 *   change is taken back. Otherwise "server won" would label the client's data.
 * - client-wins: the client's change (the fields an update or a create set to other values than
 *   the server held, or a delete); nothing when it stands already (client-won).
 * - last-write-wins: the side whose change has the later HLC.
 * - merge: the fields the person chose one by one (`mergedData`; null clears a field).
 * Every one goes through `applyChoice`: see there for edits made since the conflict.
 */
export function resolutionEffect(
  strategy: ResolutionStrategy,
  change: ArchivedChange,
  current: RecordData | null,
  mergedData?: RecordData,
  settled: readonly string[] = [],
): Resolution {
  const sides = new ConflictSides(change, current, settled);
  switch (strategy) {
    case 'server-wins': {
      const settledForClient = change.outcome === 'client-won' || change.outcome === 'merged';
      return { outcome: 'server-won', ...(settledForClient ? takeBack(sides) : { effect: none }) };
    }
    case 'client-wins':
      return {
        outcome: 'client-won',
        ...(change.outcome === 'client-won' ? { effect: none } : clientSide(sides)),
      };
    case 'last-write-wins':
      return compareHlc(change.clientHlc, change.serverHlc) > 0
        ? resolutionEffect('client-wins', change, current, undefined, settled)
        : resolutionEffect('server-wins', change, current, undefined, settled);
    case 'merge':
      return { outcome: 'merged', ...chosen(sides, mergedData ?? {}) };
  }
}

const none: Effect = { kind: 'none' };

type Applied = Pick<Resolution, 'effect' | 'collision'>;

/** A field's empty value: null and absent are both an empty field. */
const valueIn = (data: RecordData | null, field: string): unknown => data?.[field] ?? undefined;

/** The conflict's two sides, field by field, and the record as it stands now. */
class ConflictSides {
  readonly server: RecordData | null;
  readonly client: RecordData;
  constructor(
    readonly change: ArchivedChange,
    readonly current: RecordData | null,
    readonly settled: readonly string[],
  ) {
    this.server = change.serverData;
    this.client = change.clientData ?? {};
  }

  /** Whether the client's change sets the field: an update's fields, every field for a create (it is the whole record). */
  covers(field: string): boolean {
    if (this.change.opType === 'create') return true;
    return this.change.opType === 'update' && Object.hasOwn(this.client, field);
  }

  /** The fields the client's change set to another value than the server held. */
  changedByClient(): string[] {
    const fields =
      this.change.opType === 'create'
        ? new Set([...Object.keys(this.server ?? {}), ...Object.keys(this.client)])
        : Object.keys(this.client);
    return [...fields].filter((f) => !sameValue(valueIn(this.client, f), valueIn(this.server, f)));
  }

  /**
   * Whether the field still holds a value the conflict put there (the server's side, the
   * client's, or one this conflict's last resolution wrote), rather than an edit made since.
   */
  untouchedSince(field: string): boolean {
    const now = valueIn(this.current, field);
    return (
      sameValue(now, valueIn(this.server, field)) ||
      (this.covers(field) && sameValue(now, valueIn(this.client, field))) ||
      this.settled.includes(field)
    );
  }
}

/**
 * The one rule every strategy's choice goes through, field by field (`wanted`: the value each
 * field should hold by the person's choice). A person settles the conflict they are shown, often
 * days later, while the record lives on: a field is set only while it still holds a value the
 * conflict put there. One edited since is later work the person never saw; writing the chosen
 * value over it would silently drop it, like putting a whole version back would drop edits to
 * every other field. Such a field:
 * - `keep`: keeps the later value (taking back the client's change: the later edit replaced the
 *   client's value already, so there is nothing left to take back);
 * - `collide`: when the choice would give it another value, the whole choice is refused and the
 *   field named (the person's choice and the later edit disagree: neither may silently win), unless
 *   the person chose nothing for it (both sides held the value chosen: a merge sends every field).
 */
function applyChoice(
  sides: ConflictSides,
  wanted: Iterable<[string, unknown]>,
  later: 'keep' | 'collide',
): Applied {
  const patch: RecordData = {};
  const collided: string[] = [];
  for (const [field, value] of wanted) {
    const target = value ?? undefined;
    if (sameValue(valueIn(sides.current, field), target)) continue;
    if (sides.untouchedSince(field)) {
      patch[field] = target ?? null;
      continue;
    }
    const undisputed =
      sameValue(target, valueIn(sides.server, field)) &&
      (!sides.covers(field) || sameValue(target, valueIn(sides.client, field)));
    if (later === 'collide' && !undisputed) collided.push(field);
  }
  if (collided.length > 0) return { effect: none, collision: { fields: collided, deleted: false } };
  return { effect: Object.keys(patch).length > 0 ? { kind: 'patch', patch } : none };
}

/** The record was deleted since the conflict: the choice would bring it back. */
const deletedSince = (fields: readonly string[]): Applied => ({
  effect: none,
  collision: { fields, deleted: true },
});

/**
 * Takes back a client's change that took effect: each field it set goes back to the server's
 * value as archived (applyChoice, keeping fields edited since).
 * - an update: the fields it sent; a create: every field of the record it made (a create is the
 *   whole record), which for one merged in changes only the fields the server did not hold;
 * - a change that revived a deleted record (the server's side is null): deleted again;
 * - a delete: the record comes back as the server had it, unless it is alive again already.
 */
function takeBack(sides: ConflictSides): Applied {
  const { change, current, server } = sides;
  if (change.opType === 'delete') {
    return { effect: current === null && server !== null ? { kind: 'replace', data: server } : none };
  }
  // Deleted since by someone else: their delete stands.
  if (current === null) return { effect: none };
  if (server === null) return { effect: { kind: 'delete' } };
  return applyChoice(
    sides,
    sides.changedByClient().map((f) => [f, server[f]]),
    'keep',
  );
}

/**
 * The client's change applied now, for a conflict it had not won (open, server-won, merged).
 * Not the change as sent: a create replacing the whole record would drop every edit made since.
 * - a delete: only while the record is as the server had it (bar the desk's own values);
 * - the record deleted since the conflict: not brought back (refused);
 * - the record deleted when the conflict came and still: revived as the client meant.
 */
function clientSide(sides: ConflictSides): Applied {
  const { change, current, server, client } = sides;
  if (change.opType === 'delete') {
    if (current === null || server === null) return { effect: none };
    const fields = [...new Set([...Object.keys(server), ...Object.keys(current)])];
    const edited = fields.filter((f) => !sides.untouchedSince(f));
    return edited.length > 0
      ? { effect: none, collision: { fields: edited, deleted: false } }
      : { effect: { kind: 'delete' } };
  }
  if (current === null) {
    if (server !== null) return deletedSince(Object.keys(client));
    return { effect: clientEffect({ type: change.opType, data: change.clientData }) };
  }
  return applyChoice(
    sides,
    sides.changedByClient().map((f) => [f, client[f]]),
    'collide',
  );
}

/** The fields a person chose one by one (merge). */
function chosen(sides: ConflictSides, mergedData: RecordData): Applied {
  const { change, current, server } = sides;
  if (current === null) {
    // Deleted when the conflict came, or by the client's delete this conflict settled: the
    // choice brings it back. Deleted by someone since: refused.
    const deletedByConflict =
      server === null ||
      (change.opType === 'delete' && change.outcome !== 'open' && change.outcome !== 'server-won');
    if (!deletedByConflict) return deletedSince(Object.keys(mergedData));
    return { effect: { kind: 'patch', patch: mergedData } };
  }
  return applyChoice(sides, Object.entries(mergedData), 'collide');
}
