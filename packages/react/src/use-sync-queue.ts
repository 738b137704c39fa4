import { useCallback, useMemo } from 'react';
import type { OutboxEntry, QueueOperation, QueueStats, SyncClient } from '@outpost/client';
import { sameFields, sameItems } from './equality';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { useSyncClient } from './sync-client-context';

export interface SyncQueueState {
  /**
   * Counts by status, and `health`: seed 004's queue size rule over the changes not yet
   * acknowledged by the server (`ok` under 100, `warning` from 100 to 500, `critical` above);
   * `oldestPendingAt`, when the oldest of those was made, and `lastSyncAt`, the last good sync.
   */
  readonly stats: QueueStats;
  /**
   * Every op in the outbox, in the order it was made. Those the server acknowledged stay for the
   * client's `keepCompletedMs` (a day unless the app says otherwise).
   */
  readonly operations: readonly OutboxEntry[];
}

export interface SyncQueue extends SyncQueueState {
  /**
   * Ops that gave up on the network (or the ones given by seq) go back to pending; resolves to how
   * many did. Ops the server refused are left unless named: a resend gets the same answer.
   */
  retry(seqs?: readonly number[]): Promise<number>;
  /** Removes the ops the server has confirmed now, before their retention ends; resolves to how many. */
  clearCompleted(): Promise<number>;
  /**
   * Takes ops the server refused off the device once a person has read them (the server's archive
   * keeps them), showing their records as the server has them; needs the network. Any op the
   * server did not refuse is left. Resolves to how many were removed.
   */
  discard(seqs: readonly number[]): Promise<number>;
  /**
   * Takes changes not sent yet off the device (a person's explicit act): they never reach the
   * server, and their records show again without them. A change in flight or sent without an
   * answer is refused, and so is a call that leaves out a change depending on those named:
   * `client.queue.planWithdrawal(seqs)` lists what goes, to show before confirming. Resolves to
   * how many went.
   */
  withdraw(seqs: readonly number[]): Promise<number>;
  /**
   * Seed 001's `addOperation({ operation, entityType, data, entityId?, tempId? })`: the change made
   * as the collection's create, update or delete makes it; resolves to the op queued (null: an
   * update that changed nothing). `client.queue.addOperation`.
   */
  addOperation(op: QueueOperation): Promise<OutboxEntry | null>;
  /**
   * Seed 001's `removeOperation(seq)`: a change not sent yet is withdrawn, one the server refused
   * discarded, one acknowledged removed now; resolves to how many went.
   */
  removeOperation(seq: number): Promise<number>;
}

function syncQueueSource(client: SyncClient): ValueSource<SyncQueueState> {
  return {
    read: () => ({ stats: client.queue.stats(), operations: client.queue.list() }),
    equal: (a, b) => sameFields(a.stats, b.stats) && sameItems(a.operations, b.operations),
    listen: (changed) => {
      const offOutbox = client.on('change', (touched) => {
        if (touched.has('$outbox')) changed();
      });
      // The end of a sync stores the last good sync's time, which changes no op.
      const offSync = client.on('sync', changed);
      return () => {
        offOutbox();
        offSync();
      };
    },
  };
}

/** The outbox: counts by status, the ops themselves, and what a user can do to it. */
export function useSyncQueue(): SyncQueue {
  const client = useSyncClient();
  const state = useExternalValue(() => syncQueueSource(client), [client]);
  const retry = useCallback((seqs?: readonly number[]) => client.queue.retry(seqs), [client]);
  const clearCompleted = useCallback(() => client.queue.clearCompleted(), [client]);
  const discard = useCallback((seqs: readonly number[]) => client.queue.discard(seqs), [client]);
  const withdraw = useCallback((seqs: readonly number[]) => client.queue.withdraw(seqs), [client]);
  const addOperation = useCallback((op: QueueOperation) => client.queue.addOperation(op), [client]);
  const removeOperation = useCallback((seq: number) => client.queue.removeOperation(seq), [client]);
  return useMemo(
    () => ({ ...state, retry, clearCompleted, discard, withdraw, addOperation, removeOperation }),
    [state, retry, clearCompleted, discard, withdraw, addOperation, removeOperation],
  );
}
