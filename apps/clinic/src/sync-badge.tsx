import type { ClientRecord } from '@outpost/client';

/**
 * Where a record's changes stand, as a badge: refused by the server (the change stays on screen,
 * its text on the Sync details page), not yet synced, or nothing when the server has it all.
 * Refused comes first: a refused change is never sent again, so "not yet synced" would promise
 * something that will not happen.
 */
export function SyncBadge({
  record,
  notSynced = 'Not yet synced',
}: {
  record: ClientRecord;
  notSynced?: string;
}) {
  if (record.refused) return <span className="badge refused">Refused by the server: see Sync details</span>;
  if (record.pending) return <span className="badge pending">{notSynced}</span>;
  return null;
}

/** The same standing as plain text, for a table cell. */
export function syncStateText(record: ClientRecord): string {
  return record.refused ? 'Refused by the server' : record.pending ? 'Not yet synced' : 'Synced';
}
