import type { LocalState } from '../local-state';
import { isRefused } from '../local-state';
import type { RecordIds } from './file-uploads';

/** What the files need of the record side: a temp id's real id once a push brought it, or why it never will. */
export function recordIdsOf(state: LocalState): RecordIds {
  return {
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
  };
}
