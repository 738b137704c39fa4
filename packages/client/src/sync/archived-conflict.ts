import type { Conflict } from '@outpost/core';
import type { LocalConflict } from '../stores/local-store';

/**
 * A conflict from the server's archive in the shape the device keeps its own: how an
 * administrator's device comes to hold the conflicts other devices raised, so the same list and
 * resolution dialog serve both.
 */
export function fromArchive(conflict: Conflict): LocalConflict {
  return {
    id: conflict.id,
    opId: conflict.opId,
    opType: conflict.opType,
    collection: conflict.collection,
    recordId: conflict.recordId,
    summary: {
      id: conflict.id,
      kind: conflict.kind,
      fields: conflict.fields,
      strategy: conflict.strategy,
      outcome: conflict.outcome,
      server: conflict.server,
      client: { data: conflict.client.data },
    },
    detectedAt: conflict.createdAt,
    raisedBy: { userId: conflict.userId, deviceId: conflict.deviceId },
    ...(conflict.resolvedAt !== null ? { resolvedAt: conflict.resolvedAt } : {}),
  };
}
