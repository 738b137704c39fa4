/**
 * Seed 001's queue calls, `addOperation` and `removeOperation` (decision 0052), over the client's
 * own ways of changing records and the outbox. A change still becomes an op only through a
 * collection's create, update or delete: its checks (fields, permissions, signed and locked
 * records), its record on the device and its op are made in one write, as for every other change.
 * Removing an op is a withdrawal, a discard or the end of a done op's retention, by what the op is.
 */
import { isTempId, outpostError } from '@outpost/core';
import type { RecordData, Schema } from '@outpost/core';
import type { Collection } from '../collection';
import type { LocalState } from '../local-state';
import { isRefused } from '../local-state';
import type { OutboxEntry, WriteBatch } from '../stores/local-store';
import { keptDeletionsAfter, keptDeletionsKey } from './kept-deletions';
import { expiredDone } from './retention';

/** An operation as seed 001 queues it: `syncQueue.addOperation({ operation, entityType, data, tempId })`. */
export interface QueueOperation {
  operation: 'create' | 'update' | 'delete';
  /** The collection. */
  entityType: string;
  /** Every field for a create, the fields that change for an update; none for a delete. */
  data?: RecordData;
  /** The record an update or delete changes; for a create, the id it is made under (optional). */
  entityId?: string;
  /**
   * For a create in a collection the server numbers: the temp id it is made under (`makeTempId`),
   * which the server's number replaces once the create has reached it. The client makes one when
   * none is given; the record's id is on the op added.
   */
  tempId?: string;
}

const operations = ['create', 'update', 'delete'] as const;

/** What addOperation reads of the client. */
export interface OperationTarget {
  schema: Schema;
  state: LocalState;
  collection(name: string): Collection;
  /** The server's id of a record named by a temp id it has since replaced, else the id as given. */
  realId(id: string): string;
}

/**
 * What `queue.addOperation` does: the change made through the collection, as `create`, `update` or
 * `delete` would make it, and resolves to the op it put in the outbox; null for an update that
 * changed nothing (the record already shows those values, so nothing waits to be sent).
 */
export async function addOperation(target: OperationTarget, op: QueueOperation): Promise<OutboxEntry | null> {
  const { operation, entityType, entityId, tempId } = op;
  if (!(operations as readonly unknown[]).includes(operation)) {
    throw outpostError(
      'VALIDATION_FAILED',
      `operation must be create, update or delete, not ${String(operation)}`,
      {
        field: 'operation',
      },
    );
  }
  const collection = target.collection(entityType);
  const before = target.state.seqHighWater;
  let id: string;
  if (operation === 'create') {
    if (tempId !== undefined && entityId !== undefined && tempId !== entityId) {
      throw outpostError('VALIDATION_FAILED', 'a create names its id once: tempId or entityId', {
        field: 'tempId',
      });
    }
    const given = tempId ?? entityId;
    const numbered = target.schema.collection(entityType)?.idStrategy === 'server';
    if (given !== undefined && numbered && !isTempId(given)) {
      // The server numbers these records and takes only a temp id of the client's form in a create.
      throw outpostError(
        'VALIDATION_FAILED',
        `${entityType} are numbered by the server: a create names a temp id made by makeTempId, or none, not "${given}"`,
        { field: 'tempId' },
      );
    }
    id = (await collection.create(dataOf(op), given !== undefined ? { id: given } : {})).id;
  } else if (entityId === undefined) {
    throw outpostError('VALIDATION_FAILED', `an ${operation} names its record: entityId`, {
      field: 'entityId',
    });
  } else if (operation === 'update') {
    id = (await collection.update(entityId, dataOf(op))).id;
  } else {
    await collection.delete(entityId);
    id = target.realId(entityId);
  }
  // The op this call made: the record's newest, if made after the call began (none: nothing changed).
  const made = target.state.opsFor(entityType, id).at(-1);
  return made !== undefined && made.seq > before ? made : null;
}

/** The fields of a create or update: an object, as the collection's methods take them. */
function dataOf(op: QueueOperation): RecordData {
  const { data } = op;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw outpostError(
      'VALIDATION_FAILED',
      `${op.operation === 'update' ? 'an' : 'a'} ${op.operation} needs data: an object of fields`,
      {
        field: 'data',
      },
    );
  }
  return data;
}

/** The client's ways of taking ops off the device, which `removeOperation` chooses between. */
export interface OpRemovers {
  withdraw(seqs: readonly number[]): Promise<number>;
  discard(seqs: readonly number[]): Promise<number>;
  commit(batch: (state: LocalState) => WriteBatch | null): Promise<number>;
}

/**
 * What `queue.removeOperation(seq)` does, by what the op is; resolves to how many ops went (0 for
 * an op not in the outbox).
 * - Not sent yet: withdrawn (`queue.withdraw`), its record shown again without it; refused, as a
 *   withdrawal is, when a later change depends on it or when it was sent (in flight, or sent
 *   without an answer): it may already be on the server.
 * - Refused by the server for good: discarded (`queue.discard`), once a person has read it.
 * - Acknowledged (`done`): removed now rather than at the end of `keepCompletedMs`, but for the
 *   one the retention keeps (the op that tells a record not read back yet is on the server).
 */
export async function removeOperation(state: LocalState, removers: OpRemovers, seq: number): Promise<number> {
  const op = state.outbox.get(seq);
  if (op === undefined) return 0;
  const refused: boolean = isRefused(op);
  if (refused) return removers.discard([seq]);
  if (op.status !== 'done') return removers.withdraw([seq]);
  return removers.commit((now) => {
    const current = now.outbox.get(seq);
    if (current?.status !== 'done') return null;
    // expiredDone with no retention left: every done op, but for the one it keeps.
    if (
      !expiredDone({ outbox: new Map([[seq, current]]), record: (c, i) => now.record(c, i) }, 0, 0).length
    ) {
      return null;
    }
    // A delete leaves what a give-back to a restored server needs (kept-deletions.ts).
    const deletions = keptDeletionsAfter(now.meta, [current], 0);
    return {
      deleteOps: [seq],
      meta: {
        'outbox.lastSeq': now.seqHighWater,
        ...(deletions !== null ? { [keptDeletionsKey]: deletions } : {}),
      },
    };
  });
}
