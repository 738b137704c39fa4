import type { ConflictKind } from '../protocol/conflicts';
import type { OpType } from '../protocol/push';

export interface StoredVersion {
  readonly version: number;
  readonly deleted: boolean;
}

/**
 * Version-based detection: a change is in conflict when the record moved on since the version the
 * client based it on. Timestamp and hash detection join this in the conflict engine.
 *
 * - create of an id that already exists: the device did not know the record; the stored one is
 *   kept and the client's copy archived (`delete-update` when the stored one is a tombstone).
 * - update of a tombstone: `delete-update`.
 * - update or delete whose baseVersion is not the stored version: `version`. An absent
 *   baseVersion means "unknown": the change applies on top of whatever is there.
 */
export function detectConflict(
  type: OpType,
  baseVersion: number | undefined,
  current: StoredVersion | null,
): ConflictKind | null {
  if (current === null) return null;
  if (type === 'create') return current.deleted ? 'delete-update' : 'version';
  if (current.deleted) return type === 'update' ? 'delete-update' : null;
  if (baseVersion !== undefined && baseVersion !== current.version) return 'version';
  return null;
}
