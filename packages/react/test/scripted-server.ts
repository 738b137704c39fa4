// A stand-in server for component tests: keeps records, answers push and pull, reports the
// conflicts a test scripts, and settles them on resolve and undo as the real server does, so the
// client's conflict store holds real LocalConflicts. Records what the client sent it.
import type { SyncTransport } from '@outpost/client';
import {
  OutpostError,
  applyEffect,
  applyPatch,
  changedFields,
  formatHlc,
  refuseUnlessOpen,
  resolutionEffect,
} from '@outpost/core';
import type {
  Change,
  Conflict,
  PushOp,
  PushResult,
  RecordData,
  ResolveRequest,
  ResolveResponse,
} from '@outpost/core';

interface StoredRecord {
  collection: string;
  id: string;
  data: RecordData | null;
  version: number;
  hlc: string;
  updatedAt: string;
  /** Where the last change to this record stands in the change feed pull reads. */
  position: number;
}

interface Resolution {
  conflictId: string;
  previousData: RecordData | null;
  /** What the resolution wrote: its fields are the desk's own while they still hold these values. */
  written: RecordData | null;
}

/** The HLCs of a conflict's two changes, which the archive keeps beside it. */
interface ConflictClocks {
  clientHlc: string;
  serverHlc: string;
}

export interface ScriptedServer {
  readonly transport: SyncTransport;
  /** Stores a record as another device's change would: the client's next pull brings it. */
  put(collection: string, id: string, data: RecordData): void;
  /** The next push of a change to this record meets `data`, written meanwhile by another device. */
  conflictOnPush(collection: string, id: string, data: RecordData): void;
  /** The record's data as the server holds it now; null when deleted or unknown. */
  data(collection: string, id: string): RecordData | null;
  /** Every op pushed, in order. */
  readonly pushed: PushOp[];
  /** Every resolve request, in order. */
  readonly resolves: Array<{ id: string; request: ResolveRequest }>;
  /** The conflict ids undone, in order. */
  readonly undos: string[];
  /** Push answers wait for this, when set: a test catching a sync midway sets it. */
  beforePushAnswer: (() => Promise<void>) | null;
  /** While true, every push fails as a lost connection does, and nothing is stored. */
  unreachable: boolean;
  /** The next push of a change to this record is refused for good with `code`. */
  refuseOnPush(collection: string, id: string, code: 'UNRESOLVED_REFERENCE' | 'NOT_FOUND'): void;
}

const keyOf = (collection: string, id: string) => `${collection}/${id}`;

export function scriptedServer(): ScriptedServer {
  const records = new Map<string, StoredRecord>();
  const scripted = new Map<string, RecordData>();
  const refusals = new Map<string, 'UNRESOLVED_REFERENCE' | 'NOT_FOUND'>();
  const conflicts = new Map<string, Conflict>();
  const clocks = new Map<string, ConflictClocks>();
  const resolutions: Resolution[] = [];
  let position = 0;
  let counter = 0;
  let conflictCount = 0;

  const hlc = () =>
    formatHlc({ ms: Date.now(), counter: (counter = (counter + 1) % 999_999), node: 'server' });
  const write = (collection: string, id: string, data: RecordData | null): StoredRecord => {
    const before = records.get(keyOf(collection, id));
    position += 1;
    const record: StoredRecord = {
      collection,
      id,
      data,
      version: (before?.version ?? 0) + 1,
      hlc: hlc(),
      updatedAt: new Date().toISOString(),
      position,
    };
    records.set(keyOf(collection, id), record);
    return record;
  };
  const changeOf = (r: StoredRecord): Change => ({
    collection: r.collection,
    id: r.id,
    version: r.version,
    deleted: r.data === null,
    data: r.data,
    updatedAt: r.updatedAt,
    hlc: r.hlc,
  });
  const settled = (conflict: Conflict): ResolveResponse => {
    const record = records.get(keyOf(conflict.collection, conflict.recordId));
    if (!record) throw new OutpostError('NOT_FOUND', `no record ${conflict.recordId}`);
    return { conflict: { ...conflict }, record: changeOf(record) };
  };

  const server: ScriptedServer = {
    pushed: [],
    resolves: [],
    undos: [],
    beforePushAnswer: null,
    unreachable: false,
    refuseOnPush: (collection, id, code) => void refusals.set(keyOf(collection, id), code),
    put: (collection, id, data) => void write(collection, id, data),
    conflictOnPush: (collection, id, data) => void scripted.set(keyOf(collection, id), data),
    data: (collection, id) => records.get(keyOf(collection, id))?.data ?? null,
    transport: {
      async push({ ops }) {
        if (server.unreachable) throw new TypeError('Failed to fetch');
        server.pushed.push(...ops);
        const results: PushResult[] = [];
        for (const op of ops) {
          const key = keyOf(op.collection, op.id);
          const refusal = refusals.get(key);
          if (refusal !== undefined) {
            refusals.delete(key);
            results.push({
              opId: op.opId,
              status: 'rejected',
              collection: op.collection,
              id: op.id,
              error: { code: refusal, message: `refused: ${refusal}` },
            });
            continue;
          }
          const meets = scripted.get(key);
          if (meets !== undefined) {
            scripted.delete(key);
            const before = records.get(key)?.data ?? null;
            const current = write(op.collection, op.id, meets);
            conflictCount += 1;
            const clientData = op.type === 'delete' ? null : (op.data ?? {});
            const meant = op.type === 'update' ? applyPatch(meets, clientData ?? {}) : clientData;
            const conflict: Conflict = {
              id: `conflict-${conflictCount}`,
              collection: op.collection,
              recordId: op.id,
              opId: op.opId,
              opType: op.type,
              // As core's detectConflict finds it: a delete over an edit is its own kind, about
              // the fields the server edited; an edit over an edit is about the fields that differ.
              kind: op.type === 'delete' ? 'delete-update' : 'version',
              fields: op.type === 'delete' ? changedFields(before, meets) : changedFields(meets, meant),
              strategy: 'manual',
              outcome: 'open',
              server: { data: meets, version: current.version },
              client: { data: clientData, baseVersion: op.baseVersion ?? null },
              userId: 'nurse',
              deviceId: 't',
              createdAt: new Date().toISOString(),
              resolvedAt: null,
              resolvedBy: null,
            };
            conflicts.set(conflict.id, conflict);
            clocks.set(conflict.id, { clientHlc: op.hlc ?? hlc(), serverHlc: current.hlc });
            results.push({
              opId: op.opId,
              status: 'conflict',
              collection: op.collection,
              id: op.id,
              version: current.version,
              conflict: {
                id: conflict.id,
                kind: conflict.kind,
                fields: conflict.fields,
                strategy: conflict.strategy,
                outcome: conflict.outcome,
                server: conflict.server,
                client: { data: clientData },
              },
            });
            continue;
          }
          const current = records.get(key)?.data ?? null;
          const data =
            op.type === 'delete'
              ? null
              : op.type === 'update'
                ? applyPatch(current ?? {}, op.data ?? {})
                : (op.data ?? {});
          const written = write(op.collection, op.id, data);
          results.push({
            opId: op.opId,
            status: 'applied',
            collection: op.collection,
            id: op.id,
            version: written.version,
          });
        }
        if (server.beforePushAnswer) await server.beforePushAnswer();
        return { results, idMappings: [] };
      },
      async pull(request) {
        const after = Number(request?.cursor ?? 0);
        const changes = [...records.values()]
          .filter((r) => r.position > after)
          .sort((a, b) => a.position - b.position)
          .map(changeOf);
        return { changes, cursor: String(position), hasMore: false };
      },
      async getRecord(collection, id) {
        const record = records.get(keyOf(collection, id));
        return record ? changeOf(record) : null;
      },
      async resolveConflict(id, request) {
        server.resolves.push({ id, request });
        const conflict = conflicts.get(id);
        if (!conflict) throw new OutpostError('NOT_FOUND', `no conflict ${id}`);
        // A settled conflict may be settled again, as on the real server (a person may change their
        // mind), unless the request asks for an open one: the real server's rule, from core.
        refuseUnlessOpen(request, conflict);
        const key = keyOf(conflict.collection, conflict.recordId);
        const current = records.get(key)?.data ?? null;
        // The real server's rule (core's resolutionEffect), edits made since the conflict included.
        const last = resolutions.findLast((r) => r.conflictId === id);
        const settledFields = Object.entries(last?.written ?? {})
          .filter(([field, value]) => current !== null && current[field] === value)
          .map(([field]) => field);
        const { outcome, effect, collision } = resolutionEffect(
          request.strategy,
          {
            opType: conflict.opType ?? 'update',
            clientData: conflict.client.data,
            serverData: conflict.server?.data ?? null,
            outcome: conflict.outcome,
            ...(clocks.get(id) ?? { clientHlc: '', serverHlc: '' }),
          },
          current,
          request.mergedData,
          settledFields,
        );
        if (collision) {
          // The real server's refusal (conflict-desk.ts), word for word: its message tells a
          // deletion since from an edit since, as its details do.
          const { collection, recordId } = conflict;
          throw new OutpostError(
            'CONFLICT',
            collision.deleted
              ? `${collection} ${recordId} was deleted after this conflict: ${request.strategy} would bring it back`
              : `${collection} ${recordId} was edited after this conflict (${collision.fields.join(', ')}): ${request.strategy} would overwrite that`,
            {
              fields: collision.fields,
              deleted: collision.deleted,
              currentVersion: records.get(key)?.version ?? null,
            },
          );
        }
        // The effect as the real server applies it (core's applyEffect), on the data this server keeps.
        const after = applyEffect(
          current === null ? null : { data: current, version: 0, deleted: false, fieldMeta: {}, hlc: '' },
          effect,
          1,
          hlc(),
        );
        const next = effect.kind === 'none' ? current : after.deleted ? null : after.data;
        if (next !== current) write(conflict.collection, conflict.recordId, next);
        resolutions.push({ conflictId: id, previousData: current, written: next });
        conflict.outcome = outcome;
        conflict.resolvedAt = new Date().toISOString();
        conflict.resolvedBy = 'nurse';
        return settled(conflict);
      },
      async undoConflict(id) {
        server.undos.push(id);
        const conflict = conflicts.get(id);
        const index = resolutions.findLastIndex((r) => r.conflictId === id);
        const last = resolutions[index];
        if (!conflict || !last)
          throw new OutpostError('CONFLICT', `conflict ${id} has no resolution to undo`, {
            reason: 'nothing-to-undo',
          });
        resolutions.splice(index, 1);
        write(conflict.collection, conflict.recordId, last.previousData);
        conflict.outcome = 'open';
        conflict.resolvedAt = null;
        conflict.resolvedBy = null;
        return settled(conflict);
      },
      async listConflicts(query = {}) {
        // The filters a device's sync asks with, as the real archive answers them.
        const chosen = [...conflicts.values()].filter(
          (c) =>
            (query.status === undefined || (query.status === 'open') === (c.resolvedAt === null)) &&
            (query.collection === undefined || c.collection === query.collection) &&
            (query.recordId === undefined || c.recordId === query.recordId),
        );
        return { conflicts: chosen.map((c) => ({ ...c })), nextCursor: null };
      },
      async listRejections() {
        return { rejections: [], nextCursor: null };
      },
    },
  };
  return server;
}
