/**
 * A committed write changed records of `tenant`. `tenant: null` says any tenant may have changed
 * (notices may have been missed). `origin` is the client installation whose push it was, if any:
 * that client pulls after its own push anyway. Notices carry no record, id or collection: they
 * only tell a device that a pull would find something.
 */
export interface ChangeNotice {
  tenant: string | null;
  origin?: string;
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
  return origin === undefined ? { tenant } : { tenant, origin };
}
