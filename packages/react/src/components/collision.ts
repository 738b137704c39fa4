import { OutpostError } from '@outpost/core';
import { fieldLabel, listInWords } from './conflict-labels';

/**
 * A choice the server refused (409) because it would overwrite work done after the conflict: the
 * fields changed since, or the record deleted since (conflict-desk's details). One reading and one
 * wording, for the dialog and the bulk resolution alike.
 */
export interface Collision {
  readonly fields: readonly string[];
  readonly deleted: boolean;
}

export function collisionOf(err: unknown): Collision | null {
  if (!(err instanceof OutpostError) || err.code !== 'CONFLICT') return null;
  const details: unknown = err.details;
  if (typeof details !== 'object' || details === null || !('fields' in details)) return null;
  const { fields } = details;
  if (!Array.isArray(fields) || !fields.every((f): f is string => typeof f === 'string')) return null;
  return { fields, deleted: 'deleted' in details && details.deleted === true };
}

/** What happened, in words: "someone changed date of birth after this conflict". */
export function collisionCause(collision: Collision): string {
  if (collision.deleted) return 'this record was deleted after this conflict';
  const fields = collision.fields.map(fieldLabel);
  return `someone changed ${fields.length > 0 ? listInWords(fields) : 'this record'} after this conflict`;
}

/** The dialog's whole sentence: what happened, and what to do. */
export function collisionText(collision: Collision): string {
  if (collision.deleted)
    return `Not applied: ${collisionCause(collision)}, and that choice would bring it back.`;
  const them = collision.fields.length > 1 ? 'those changes' : 'that change';
  return `Not applied: ${collisionCause(collision)}, and that choice would overwrite ${them}. Nothing was changed. Choose again below, with the record as it stands now.`;
}
