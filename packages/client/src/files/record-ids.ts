import type { LocalDb } from '../local-db';
import { isRefused, keyOf } from '../local-state';
import { isWithdrawable } from '../outbox/withdraw';
import type { RecordIds, RecordRef } from './file-uploads';

/**
 * The record meta key listing records whose create a withdrawal took (`queue.withdraw`) and whose
 * files on the device are still to go. The records go in the record store, the files in the file
 * store, a database of its own: no transaction holds both. So the withdrawal stores this with the
 * records it removes, and the files go after, at once, or at the next start or sync should the app
 * stop between the two writes: a file is never uploaded for a record that will never exist.
 */
export const withdrawnKey = 'files.withdrawnRecords';

/** The records listed under `withdrawnKey` in record meta `meta`. */
export function withdrawnIn(meta: Readonly<Record<string, unknown>>): RecordRef[] {
  const list = meta[withdrawnKey];
  return Array.isArray(list) ? (list as RecordRef[]) : [];
}

/**
 * What the files need of the record side: a temp id's real id once a push brought it, or why it
 * never will; which records the device holds, and which collections it holds whole (`keptWhole`,
 * record-filter.ts's heldWhole for the client's options; every collection when not given).
 */
export function recordIdsOf(db: LocalDb, keptWhole: (collection: string) => boolean = () => true): RecordIds {
  const { state } = db;
  return {
    held: (collection, id) => state.record(collection, id) !== undefined,
    keptWhole,
    real: (id) => (state.meta['tempIds'] as Record<string, string> | undefined)?.[id] ?? id,
    lost(collection, id) {
      const ops = state.opsFor(collection, id);
      if (ops.some((o) => o.type === 'create' && isRefused(o))) {
        return `the server refused to create ${collection} ${id}, the record this file belongs to`;
      }
      if (ops.length === 0 && !state.record(collection, id)) {
        return `${collection} ${id}, the record this file belongs to, is not on this device (deleted before it reached the server?)`;
      }
      return null;
    },
    unsent(collection, id) {
      const create = state.opsFor(collection, id).find((o) => o.type === 'create' && isWithdrawable(o));
      return create ? `the create of ${collection} ${id} to be sent` : null;
    },
    withdrawn: () => withdrawnIn(state.meta),
    async forgetWithdrawn(records) {
      const done = new Set(records.map((r) => keyOf(r.collection, r.id)));
      await db.write(() => {
        const list = withdrawnIn(state.meta);
        const left = list.filter((r) => !done.has(keyOf(r.collection, r.id)));
        if (left.length === list.length) return { batch: null, result: undefined };
        return { batch: { meta: { [withdrawnKey]: left.length > 0 ? left : undefined } }, result: undefined };
      });
    },
  };
}
