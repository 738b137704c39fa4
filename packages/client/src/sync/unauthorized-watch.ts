import { isOutpostError } from '@outpost/core';
import type { OutpostError } from '@outpost/core';
import type { SyncTransport } from './sync-transport';

/**
 * The transport, telling `onUnauthorized` each time the server refuses the device's sign-in (401
 * UNAUTHORIZED) on any call: a sync's push or pull, the live stream, a resolution, an archive read.
 * The call still fails as it did; the app hears of it in one place, whichever call found it, and
 * can ask for the password again (a token most often expires during days without a network).
 */
export function watchingUnauthorized(
  transport: SyncTransport,
  onUnauthorized: (error: OutpostError) => void,
): SyncTransport {
  const watch = <T>(call: Promise<T>): Promise<T> =>
    call.catch((err: unknown) => {
      if (isOutpostError(err) && err.code === 'UNAUTHORIZED') onUnauthorized(err);
      throw err;
    });
  const { listen } = transport;
  return {
    push: (request, options) => watch(transport.push(request, options)),
    pull: (request, options) => watch(transport.pull(request, options)),
    getRecord: (collection, id, options) => watch(transport.getRecord(collection, id, options)),
    resolveConflict: (id, request) => watch(transport.resolveConflict(id, request)),
    undoConflict: (id) => watch(transport.undoConflict(id)),
    listConflicts: (query, options) => watch(transport.listConflicts(query, options)),
    listRejections: (query) => watch(transport.listRejections(query)),
    ...(listen ? { listen: (signal, onEvent) => watch(listen.call(transport, signal, onEvent)) } : {}),
  };
}
