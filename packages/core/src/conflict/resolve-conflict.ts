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

/**
 * What a person's resolution does to the record as it stands now (`current`: its data, or null
 * while it is deleted):
 * - server-wins: nothing, the stored version being the server's side; unless the conflict was
 *   settled for the client before (by its collection's rule or by a person): then the client's
 *   change is taken back (takeBack). Otherwise "server won" would label the client's data.
 * - client-wins: the client's change, as it was meant (an update's fields, a create's data, a delete).
 * - last-write-wins: the side whose change has the later HLC.
 * - merge: the fields the person chose one by one (`mergedData`; null clears a field).
 */
export function resolutionEffect(
  strategy: ResolutionStrategy,
  change: ArchivedChange,
  current: RecordData | null,
  mergedData?: RecordData,
): { outcome: ConflictOutcome; effect: Effect } {
  switch (strategy) {
    case 'server-wins': {
      const settledForClient = change.outcome === 'client-won' || change.outcome === 'merged';
      return { outcome: 'server-won', effect: settledForClient ? takeBack(change, current) : none };
    }
    case 'client-wins':
      return {
        outcome: 'client-won',
        effect: clientEffect({ type: change.opType, data: change.clientData }),
      };
    case 'last-write-wins':
      return compareHlc(change.clientHlc, change.serverHlc) > 0
        ? resolutionEffect('client-wins', change, current)
        : resolutionEffect('server-wins', change, current);
    case 'merge':
      return { outcome: 'merged', effect: { kind: 'patch', patch: mergedData ?? {} } };
  }
}

const none: Effect = { kind: 'none' };

/**
 * Takes back a client's change that took effect: each field it set goes back to the server's
 * value as archived, as long as it still holds the client's value. Not the archived server version
 * wholesale: the record may have been edited since the conflict (the resolution can come days
 * later), and putting the old version back would silently drop those edits, on other fields too.
 * A field someone changed since keeps their value: the client's value is gone from it already.
 * - an update: the fields it sent; a create: every field of the record it made (a create is the
 *   whole record), which for one merged in changes only the fields the server did not hold;
 * - a change that revived a deleted record (the server's side is null): deleted again;
 * - a delete: the record comes back as the server had it, unless it is alive again already.
 */
function takeBack(change: ArchivedChange, current: RecordData | null): Effect {
  const { serverData } = change;
  if (change.opType === 'delete') {
    return current === null && serverData !== null ? { kind: 'replace', data: serverData } : none;
  }
  // Deleted since by someone else: their delete stands.
  if (current === null) return none;
  if (serverData === null) return { kind: 'delete' };
  const client = change.clientData ?? {};
  const fields =
    change.opType === 'create'
      ? new Set([...Object.keys(serverData), ...Object.keys(client)])
      : Object.keys(client);
  const patch: RecordData = {};
  for (const field of fields) {
    // What the change left in the field: null and absent are both an empty field.
    const meant = client[field] ?? undefined;
    if (sameValue(current[field], meant) && !sameValue(serverData[field], meant)) {
      patch[field] = serverData[field] ?? null;
    }
  }
  return Object.keys(patch).length > 0 ? { kind: 'patch', patch } : none;
}
