import type { ClientRecord } from '@outpost/client';

/**
 * Where a record's changes stand, as a badge: refused by the server (its text on the Sync details
 * page), waiting for a person to settle a conflict over it (on the Conflicts page), not yet
 * synced, or nothing when the server has it all. Refused comes first: a refused change is never
 * sent again, so "not yet synced" would promise something that will not happen. A conflict comes
 * next: the record shows the server's version until someone settles it.
 */
export function SyncBadge({
  record,
  notSynced = 'Not yet synced',
}: {
  record: ClientRecord;
  notSynced?: string;
}) {
  if (record.refused) return <span className="badge refused">Refused by the server: see Sync details</span>;
  if (record.awaitingReview) return <span className="badge review">Waiting for review: see Conflicts</span>;
  if (record.pending) return <span className="badge pending">{notSynced}</span>;
  return null;
}

/** The same standing as plain text, for a table cell. */
export function syncStateText(record: ClientRecord): string {
  if (record.refused) return 'Refused by the server';
  if (record.awaitingReview) return 'Waiting for review';
  return record.pending ? 'Not yet synced' : 'Synced';
}
