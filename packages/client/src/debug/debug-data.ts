import type { FilesStats } from '../files/client-files';
import type { NetworkSnapshot } from '../network/network-monitor';
import type { QueueStats } from '../outbox/queue-stats';
import type { OutboxEntry } from '../stores/local-store';
import type { AutoSyncSettings } from '../sync/auto-sync';
import type { SyncResult } from '../sync/sync-engine';
import type { SyncLogEntry } from './sync-log';

/**
 * What `client.exportDebugData()` answers (seed 002's `exportDebugData`): the device's sync state
 * and its last log lines, to attach to a support request. Plain JSON. No record's contents and no
 * error's message, which may quote them: ids, counts, statuses and error codes only, as the
 * server's audit keeps.
 */
export interface SyncDebugData {
  exportedAt: string;
  schema: string;
  clientId: string;
  deviceId: string;
  network: NetworkSnapshot;
  autoSync: AutoSyncSettings | false;
  queue: QueueStats;
  files: FilesStats;
  /** The last sync's outcome, its error reduced to the code. */
  lastResult: (Omit<SyncResult, 'error'> & { error?: { code: string } }) | null;
  /** Each change in the outbox, oldest first, without its data. */
  outbox: Array<{
    seq: number;
    opId: string;
    collection: string;
    id: string;
    type: OutboxEntry['type'];
    status: OutboxEntry['status'];
    attempts: number;
    createdAt: string;
    baseVersion?: number;
    heldReason?: string;
    lastErrorCode?: string;
    rejected?: boolean;
  }>;
  log: SyncLogEntry[];
}

/** An outbox entry as the export shows it: where it stands, never what it carries. */
export function outboxLine(entry: OutboxEntry): SyncDebugData['outbox'][number] {
  return {
    seq: entry.seq,
    opId: entry.opId,
    collection: entry.collection,
    id: entry.id,
    type: entry.type,
    status: entry.status,
    attempts: entry.attempts,
    createdAt: entry.createdAt,
    ...(entry.baseVersion !== undefined ? { baseVersion: entry.baseVersion } : {}),
    ...(entry.heldReason !== undefined ? { heldReason: entry.heldReason } : {}),
    ...(entry.lastError !== undefined ? { lastErrorCode: entry.lastError.code } : {}),
    ...(entry.rejected === true ? { rejected: true } : {}),
  };
}

/** A sync's result with its error reduced to the code. */
export function resultLine(result: SyncResult | null): SyncDebugData['lastResult'] {
  if (result === null) return null;
  const { error, ...rest } = result;
  return { ...rest, ...(error !== undefined ? { error: { code: error.code } } : {}) };
}
