/**
 * What a hub's queue item says of a change its upstream refused: composed here from the refusal's
 * code and the names of the fields involved, never from the upstream's own words. Those may quote
 * what was typed (a validate hook's message, a reference's value), while a queue item holds no
 * patient data (seed 004); the upstream's rejection archive keeps the refusal whole.
 */
import type { OpErrorCode, PushOp } from '@outpost/core';

export interface Refusal {
  readonly code: OpErrorCode | 'REJECTED';
  readonly message: string;
}

/** The item's error code and message for a refused op; `error` as the upstream answered it. */
export function refusalOf(op: PushOp, error: { code: OpErrorCode; details?: unknown } | undefined): Refusal {
  if (error === undefined) return { code: 'REJECTED', message: `the upstream refused ${subject(op, [])}` };
  const what = subject(op, fieldsNamed(op, error.details));
  return { code: error.code, message: messageFor(error.code, op, what) };
}

function messageFor(code: OpErrorCode, op: PushOp, what: string): string {
  switch (code) {
    case 'VALIDATION_FAILED':
      return `the upstream found ${what} invalid`;
    case 'UNRESOLVED_REFERENCE':
      return `${what} points to a record the upstream does not have (deleted there, or not sent yet)`;
    case 'DEPENDENCY_FAILED':
      return `the upstream refused ${what}: a change it depends on was refused`;
    case 'NOT_FOUND':
      return `the upstream has no ${op.collection} record ${op.id}`;
    case 'FORBIDDEN':
      return `the hub's upstream account may not make ${what}: it must be allowed to write ${op.collection}`;
    case 'UNKNOWN_COLLECTION':
      return `the upstream has no collection ${op.collection}`;
    case 'IMMUTABLE':
      return 'the record is signed upstream and can no longer change';
    case 'LOCKED':
      return 'the record is locked upstream';
  }
}

/** The change the refusal is about, by the fields it names, or else by what the op was. */
function subject(op: PushOp, fields: readonly string[]): string {
  if (fields.length > 0) return `the change to ${fields.join(', ')}`;
  if (op.type === 'create') return `the new ${op.collection} record`;
  if (op.type === 'delete') return 'the deletion';
  const sent = Object.keys(op.data ?? {}).sort();
  return sent.length === 0 ? 'the change' : `the change to ${sent.join(', ')}`;
}

/**
 * The fields a refusal's details point at (a schema issue's path, a reference's field), kept only
 * if the op sent them: so what is repeated is a field's name, never anything typed into one.
 */
function fieldsNamed(op: PushOp, details: unknown): string[] {
  const sent = new Set(Object.keys(op.data ?? {}));
  const named = (Array.isArray(details) ? details : [details]).map(fieldOf);
  return [...new Set(named.filter((f): f is string => f !== null && sent.has(f)))].sort();
}

/** `{ field }` (a reference), or the first step of `{ path }` (a schema issue, 'a.b' or ['a', 'b']). */
function fieldOf(detail: unknown): string | null {
  if (typeof detail !== 'object' || detail === null) return null;
  const { field, path } = detail as { field?: unknown; path?: unknown };
  if (typeof field === 'string') return field;
  const head: unknown = Array.isArray(path) ? path[0] : typeof path === 'string' ? path.split('.')[0] : null;
  return typeof head === 'string' ? head : null;
}
