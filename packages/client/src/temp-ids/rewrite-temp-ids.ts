import { isTempId } from '@outpost/core';
import type { IdMapping, RecordData, Schema } from '@outpost/core';
import type { LocalRecord, LocalConflict, OutboxEntry, WriteBatch } from '../stores/local-store';
import { showsInView, viewOf } from '../local-state';

export interface TempIdSources {
  records: Iterable<LocalRecord>;
  outbox: Iterable<OutboxEntry>;
  conflicts: Iterable<LocalConflict>;
}

/**
 * `data` with each reference field whose value `renamed` gives a new id for (the field's target
 * collection and its value) naming that id instead; the same object when none changes. Shared by
 * the temp-id rewrite here and the renumbering of a restored server's lost records
 * (restore-recovery.ts).
 */
export function renameRefs(
  schema: Schema,
  collection: string,
  data: RecordData | undefined,
  renamed: (target: string, value: string) => string | undefined,
): RecordData | undefined {
  if (data === undefined) return undefined;
  const refs = schema.collection(collection)?.references ?? {};
  let out: RecordData | undefined;
  for (const [field, target] of Object.entries(refs)) {
    const value = data[field];
    if (typeof value !== 'string') continue;
    const id = renamed(target, value);
    if (id === undefined) continue;
    out ??= { ...data };
    out[field] = id;
  }
  return out ?? data;
}

function rewriteRefs(
  schema: Schema,
  collection: string,
  data: RecordData | undefined,
  real: ReadonlyMap<string, string>,
): RecordData | undefined {
  return renameRefs(schema, collection, data, (_target, value) =>
    isTempId(value) ? real.get(value) : undefined,
  );
}

/**
 * The writes that replace temp ids by the server's ids everywhere on the device: the records'
 * own ids, every reference field of every local record, the ids and references of queued ops,
 * and conflicts. The caller commits them with the mappings in one transaction, so no reader ever
 * sees a record under its new id while a reference still names the old one. One pass over each
 * source with map lookups: linear in the local data, whatever the number of mappings.
 */
export function rewriteTempIds(
  schema: Schema,
  mappings: readonly IdMapping[],
  sources: TempIdSources,
): Required<Pick<WriteBatch, 'putRecords' | 'deleteRecords' | 'putOps' | 'putConflicts'>> {
  const real = new Map(mappings.map((m) => [m.tempId, m.id]));
  const batch = {
    putRecords: [] as LocalRecord[],
    deleteRecords: [] as Array<{ collection: string; id: string }>,
    putOps: [] as OutboxEntry[],
    putConflicts: [] as LocalConflict[],
  };
  if (real.size === 0) return batch;
  const records = [...sources.records];
  const held = new Map(records.map((r) => [`${r.collection}\u0000${r.id}`, r]));
  const rewrittenOps: OutboxEntry[] = [];
  for (const op of sources.outbox) {
    if (op.status === 'done') continue;
    const newId = isTempId(op.id) ? real.get(op.id) : undefined;
    const data = rewriteRefs(schema, op.collection, op.data, real);
    if (newId === undefined && data === op.data) continue;
    rewrittenOps.push({ ...op, id: newId ?? op.id, ...(data !== undefined ? { data } : {}) });
  }
  batch.putOps.push(...rewrittenOps);
  for (const record of records) {
    const newId = isTempId(record.id) ? real.get(record.id) : undefined;
    const data = rewriteRefs(schema, record.collection, record.data, real) ?? record.data;
    // The server's copy beneath pending changes holds real ids, unless the device made it after
    // applying one of its own ops that named a temp id: rewritten the same way.
    const copy = record.server;
    const copyData = copy?.data ? rewriteRefs(schema, record.collection, copy.data, real) : undefined;
    const server = copy?.data && copyData !== copy.data ? { ...copy, data: copyData ?? null } : copy;
    if (newId === undefined && data === record.data && server === record.server) continue;
    if (newId !== undefined) batch.deleteRecords.push({ collection: record.collection, id: record.id });
    const pulled = newId === undefined ? undefined : held.get(`${record.collection}\u0000${newId}`);
    if (pulled && pulled.version >= record.version) {
      // The server's record reached the device under its real id (pulled) before the mapping did:
      // that is the newer server state, and this device's pending changes go on top of it.
      const pending = rewrittenOps
        .filter((o) => o.collection === record.collection && o.id === newId && showsInView(o))
        .sort((a, b) => a.seq - b.seq);
      const view = viewOf(record.collection, pulled.id, pulled, pending);
      if (view && pending.length > 0) batch.putRecords.push(view);
      continue;
    }
    batch.putRecords.push({ ...record, id: newId ?? record.id, data, ...(server ? { server } : {}) });
  }
  for (const c of sources.conflicts) {
    const newId = real.get(c.recordId);
    if (newId !== undefined) batch.putConflicts.push({ ...c, recordId: newId });
  }
  return batch;
}
