import { useMemo } from 'react';
import type { LocalConflict } from '@outpost/client';
import { applyPatch } from '@outpost/core';
import type { OpType, RecordData } from '@outpost/core';
import { useSyncQueue } from '../use-sync-queue';

/** The two sides of a conflict as whole records; null for a side where the record is deleted. */
export interface ConflictVersions {
  /** The record as this device meant it: what "Keep local" leaves on the server. */
  readonly local: RecordData | null;
  /** The record as the server holds it. */
  readonly server: RecordData | null;
}

/**
 * Both versions of a conflicted record. The conflict keeps what this device sent: every field for
 * a create, only the changed fields for an update (null clearing one), nothing for a delete. An
 * update is shown on top of the server's version, as keeping it would apply it; when the op is
 * not known, what was sent is taken as the whole record.
 */
export function conflictVersions(conflict: LocalConflict, opType?: OpType): ConflictVersions {
  const server = conflict.summary.server?.data ?? null;
  const sent = conflict.summary.client?.data ?? null;
  if (opType === 'delete') return { local: null, server };
  if (opType === 'update' && sent !== null) return { local: applyPatch(server ?? {}, sent), server };
  return { local: sent, server };
}

/** Both versions of a conflicted record, reading the kind of op from the device's outbox. */
export function useConflictVersions(conflict: LocalConflict): ConflictVersions {
  const { operations } = useSyncQueue();
  // Conflicts record the op's type; the outbox still knows it for conflicts stored before they did.
  const opType = conflict.opType ?? operations.find((op) => op.opId === conflict.opId)?.type;
  return useMemo(() => conflictVersions(conflict, opType), [conflict, opType]);
}
