import { changedFields, dataShapeProblem, describeIssues, isValidRecordId, stampFields } from '@outpost/core';
import type { CollectionDefinition, OpErrorCode, RecordData, RecordState, RecordView } from '@outpost/core';

/** Refuses one change with an op error code. Push reports it on the op; a resolution answers 4xx. */
export class OpRejected extends Error {
  constructor(
    readonly code: OpErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface FinishInput {
  def: CollectionDefinition;
  tenant: string;
  userId: string;
  id: string;
  type: 'create' | 'update';
  /** The record as the change leaves it, before the server's own rules. */
  tentative: RecordState;
  /** The record's data before the change; null when there was none (or a tombstone). */
  previous: RecordData | null;
  hlc: string;
  /** Reads a record of the same tenant, seeing the changes staged before this one. */
  get(
    collection: string,
    id: string,
  ): Promise<{ version: number; deleted: boolean; data: RecordData } | null>;
}

/**
 * The record's final state after a change, by the server's rules: fields the collection's hooks
 * derive (stamped like the client's own), the schema's field types, the validate hook, and
 * references that must point to live records. Every write path (push and resolution) goes
 * through here, so no record is stored that a push could not have stored.
 */
export async function finishRecord(input: FinishInput): Promise<RecordState> {
  const { def, tentative, previous } = input;
  let next = tentative.data;
  const shapeProblem = dataShapeProblem(next);
  if (shapeProblem !== null) throw new OpRejected('VALIDATION_FAILED', shapeProblem);
  if (def.hooks.derive) next = { ...next, ...(await def.hooks.derive(hookContext(input, next))) };
  const parsed = def.fields.safeParse(next);
  if (!parsed.success) {
    throw new OpRejected('VALIDATION_FAILED', `invalid ${def.name} data`, describeIssues(parsed.error));
  }
  next = parsed.data as RecordData;
  const message = def.hooks.validate ? await def.hooks.validate(hookContext(input, next)) : undefined;
  if (message !== undefined) throw new OpRejected('VALIDATION_FAILED', message);
  for (const [field, target] of Object.entries(def.references)) {
    const ref = next[field];
    if (typeof ref !== 'string' || ref === previous?.[field]) continue;
    const found = isValidRecordId(ref) ? await input.get(target, ref) : null;
    if (!found || found.deleted) {
      throw new OpRejected(
        'UNRESOLVED_REFERENCE',
        `${field} points to a ${target} record that does not exist`,
        {
          field,
          collection: target,
          id: ref,
        },
      );
    }
  }
  const derived = changedFields(tentative.data, next);
  return {
    ...tentative,
    data: next,
    fieldMeta: stampFields(tentative.fieldMeta, derived, tentative.version, input.hlc),
  };
}

/**
 * What a server hook sees of the change. Made only for collections that have hooks: a function
 * made per op is itself a measurable share of a 500-op push.
 */
function hookContext(input: FinishInput, data: RecordData) {
  return {
    tenant: input.tenant,
    userId: input.userId,
    collection: input.def.name,
    id: input.id,
    type: input.type,
    data,
    previous: input.previous,
    get: async (collection: string, recordId: string): Promise<RecordView | null> => {
      // Text that is no record id names no record: no query needed (and none with text a database refuses).
      if (!isValidRecordId(recordId)) return null;
      const r = await input.get(collection, recordId);
      return r && !r.deleted ? { collection, id: recordId, version: r.version, data: r.data } : null;
    },
  };
}

/** Whether a new state differs from the stored one in data, deletion or a crdt register's stamp. */
export function changesRecord(current: RecordState, next: RecordState): boolean {
  if (current.deleted !== next.deleted) return true;
  if (next.deleted) return false;
  if (changedFields(current.data, next.data).length > 0) return true;
  return Object.entries(next.fieldMeta).some(([f, m]) => current.fieldMeta[f]?.hlc !== m.hlc);
}
