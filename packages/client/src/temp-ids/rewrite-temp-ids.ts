import { isTempId } from '@outpost/core';
import type { IdMapping, RecordData, Schema } from '@outpost/core';
import type { LocalRecord, LocalConflict, OutboxEntry, WriteBatch } from '../stores/local-store';

export interface TempIdSources {
  records: Iterable<LocalRecord>;
  outbox: Iterable<OutboxEntry>;
  conflicts: Iterable<LocalConflict>;
}

function rewriteRefs(
  schema: Schema,
  collection: string,
  data: RecordData | undefined,
  real: ReadonlyMap<string, string>,
): RecordData | undefined {
  if (data === undefined) return undefined;
  const refs = schema.collection(collection)?.references ?? {};
  let out: RecordData | undefined;
  for (const field of Object.keys(refs)) {
    const value = data[field];
    if (!isTempId(value)) continue;
    const id = real.get(value);
    if (id === undefined) continue;
    out ??= { ...data };
    out[field] = id;
  }
  return out ?? data;
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
  for (const record of sources.records) {
    const newId = isTempId(record.id) ? real.get(record.id) : undefined;
    const data = rewriteRefs(schema, record.collection, record.data, real) ?? record.data;
    if (newId === undefined && data === record.data) continue;
    if (newId !== undefined) batch.deleteRecords.push({ collection: record.collection, id: record.id });
    batch.putRecords.push({ ...record, id: newId ?? record.id, data });
  }
  for (const op of sources.outbox) {
    if (op.status === 'done') continue;
    const newId = isTempId(op.id) ? real.get(op.id) : undefined;
    const data = rewriteRefs(schema, op.collection, op.data, real);
    if (newId === undefined && data === op.data) continue;
    batch.putOps.push({ ...op, id: newId ?? op.id, ...(data !== undefined ? { data } : {}) });
  }
  for (const c of sources.conflicts) {
    const newId = real.get(c.recordId);
    if (newId !== undefined) batch.putConflicts.push({ ...c, recordId: newId });
  }
  return batch;
}
