import { conflictRefusalReason, isOutpostError } from '@outpost/core';
import { collisionCause, collisionOf } from './collision';
import { fieldLabel, listInWords } from './conflict-labels';

/**
 * Why a resolution or an undo did not happen, as a clause a clinician can read after "Could not
 * undo the resolution of …:". The server's own text names records by collection key and id and
 * choices by their wire names ("patients 0193… changed after this resolution"), so every refusal
 * it explains by code and details is said here instead, one wording for the dialog, the row and
 * the bulk actions. Only an answer this does not know keeps the server's text.
 */
export function refusalCause(err: unknown): string {
  if (!isOutpostError(err)) {
    // fetch's TypeError ("Failed to fetch"), an aborted request: the server was not reached, or
    // its answer was lost on the way.
    return 'the server could not be reached. Try again once the tablet is online';
  }
  const collision = collisionOf(err);
  if (collision) return collisionCause(collision);
  switch (conflictRefusalReason(err)) {
    case 'frozen-attempt':
      return 'the record was signed or locked, so this change can never be applied; it stays in the archive';
    case 'frozen':
      return 'the record was signed or locked since, so nothing may change it';
    case 'record-gone':
      return 'the record no longer exists on the server';
    case 'schema-gone':
      return "the clinic's records no longer include this kind of record";
    case 'nothing-to-undo':
      return 'its resolution was already taken back';
    case 'changed-since':
      return 'the record changed after this resolution, so undoing it would overwrite that change. Resolve the conflict again instead';
    case null:
      break;
  }
  switch (err.code) {
    case 'UNAUTHORIZED':
      return 'your sign-in has expired. Sign in again, then try again';
    case 'FORBIDDEN':
      return 'your role may not settle conflicts on these records';
    case 'NOT_FOUND':
      return 'the server no longer has this conflict';
    case 'RATE_LIMITED':
      return 'the server is busy. Try again in a minute';
    case 'VALIDATION_FAILED': {
      const fields = fieldsOf(err.details);
      return fields.length > 0
        ? `the server did not accept ${listInWords(fields.map(fieldLabel))}`
        : `the server did not accept the values (${err.message})`;
    }
    default:
      return err.message;
  }
}

/**
 * Why an app's own resolution (`onResolve`, `onBulkResolve`) failed, as the same clause: an Outpost
 * refusal or a lost connection (fetch's TypeError) as `refusalCause` says it, anything else by its
 * own message, which is the app's words. Its closing full stop is left to the sentence around it.
 */
export function appRefusalCause(err: unknown): string {
  if (isOutpostError(err) || err instanceof TypeError) return refusalCause(err);
  const message = (err instanceof Error ? err.message : String(err)).trim().replace(/\.$/, '');
  return message === '' ? 'it was not accepted' : message;
}

/**
 * The fields a validation refusal names: `{ fields }` (fields the schema lacks), or the server's
 * list of issues, `[{ path: "dob", message }]`, whose path starts with the field ("mergedData.dob"
 * when the request itself was checked).
 */
function fieldsOf(details: unknown): string[] {
  const out = new Set<string>();
  if (Array.isArray(details)) {
    for (const issue of details as unknown[]) {
      const path = (issue as { path?: unknown } | null)?.path;
      if (typeof path !== 'string') continue;
      const field = path.split('.').find((part) => part !== '' && part !== 'mergedData');
      if (field !== undefined && !/^\d+$/.test(field)) out.add(field);
    }
  } else if (
    typeof details === 'object' &&
    details !== null &&
    'fields' in details &&
    Array.isArray(details.fields)
  ) {
    for (const f of details.fields as unknown[]) if (typeof f === 'string') out.add(f);
  }
  return [...out];
}
