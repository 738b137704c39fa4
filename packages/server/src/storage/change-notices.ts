/**
 * A committed write changed records of `tenant`, or, with `subject: 'files'`, its files (one became
 * complete, or was deleted). `tenant: null` says any tenant may have changed, records and files
 * (notices may have been missed). `origin` is the client installation whose push or upload it was,
 * if any: that client knows already. Notices carry no record, id or collection: they only tell a
 * device that a pull, or a record's file list, would find something.
 */
export interface ChangeNotice {
  tenant: string | null;
  origin?: string;
  /**
   * Absent for records: so an instance of an older version, which knows no subject, reads a files
   * notice as records changed and its devices pull once for nothing, rather than missing it.
   */
  subject?: 'files';
}

export type ChangeListener = (notice: ChangeNotice) => void;

/** The PostgreSQL channel every server instance on one database listens on. */
export const changesChannel = 'outpost_changes';

export function encodeNotice(notice: ChangeNotice): string {
  return JSON.stringify(notice);
}

/** A notice from the channel, or null for a payload that is not one (sent by something else). */
export function decodeNotice(payload: string): ChangeNotice | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || !('tenant' in value)) return null;
  const { tenant } = value;
  if (typeof tenant !== 'string' && tenant !== null) return null;
  const origin = 'origin' in value && typeof value.origin === 'string' ? value.origin : undefined;
  const files = 'subject' in value && value.subject === 'files';
  return {
    tenant,
    ...(origin !== undefined ? { origin } : {}),
    ...(files ? { subject: 'files' as const } : {}),
  };
}
