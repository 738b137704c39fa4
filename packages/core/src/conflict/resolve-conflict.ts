import { compareHlc } from '../hlc';
import type { ConflictOutcome } from '../protocol/conflicts';
import type { OpType } from '../protocol/push';
import type { RecordData } from '../schema/define-schema';
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
 * What a person's resolution does to the record as it stands now:
 * - server-wins: nothing, the stored version being the server's side; unless the conflict was
 *   settled for the client before (by its collection's rule or by a person), when the server's
 *   version as archived comes back. Otherwise "server won" would label the client's data.
 * - client-wins: the client's change, as it was meant (an update's fields, a create's data, a delete).
 * - last-write-wins: the side whose change has the later HLC.
 * - merge: the fields the person chose one by one (`mergedData`; null clears a field).
 */
export function resolutionEffect(
  strategy: ResolutionStrategy,
  change: ArchivedChange,
  mergedData?: RecordData,
): { outcome: ConflictOutcome; effect: Effect } {
  switch (strategy) {
    case 'server-wins': {
      if (change.outcome !== 'client-won' && change.outcome !== 'merged')
        return { outcome: 'server-won', effect: { kind: 'none' } };
      const effect: Effect =
        change.serverData === null ? { kind: 'delete' } : { kind: 'replace', data: change.serverData };
      return { outcome: 'server-won', effect };
    }
    case 'client-wins':
      return {
        outcome: 'client-won',
        effect: clientEffect({ type: change.opType, data: change.clientData }),
      };
    case 'last-write-wins':
      return compareHlc(change.clientHlc, change.serverHlc) > 0
        ? resolutionEffect('client-wins', change)
        : resolutionEffect('server-wins', change);
    case 'merge':
      return { outcome: 'merged', effect: { kind: 'patch', patch: mergedData ?? {} } };
  }
}
