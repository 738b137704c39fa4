import { createHmac, timingSafeEqual } from 'node:crypto';
import { outpostError } from '@outpost/core';
import { lastIdsOfTenant } from '../storage/backup-last-ids';
import type { DatabaseEpoch } from '../storage/database-epoch';

/**
 * Where a client stands in its tenant's change stream: everything up to `position` applied, as
 * seen while tombstones up to `horizon` were already purged.
 */
export interface PullCursor {
  position: number;
  horizon: number;
  /**
   * The collections the pull read, sorted: those it named (selective sync), else every one the
   * caller's role could read. A later pull that reads others too may have passed records of them
   * by (pull-scope's checkCoverage). Absent from cursors issued before cursors named their
   * collections, which are taken as having read every collection.
   */
  collections?: readonly string[];
  /**
   * The epoch of the database that issued it (decision 0050). Absent from cursors issued before
   * cursors carried one: only pull-scope's checkReached can tell those from a restored database.
   */
  epoch?: string;
}

/** What a cursor is encoded from: cursors issued now always name their collections. */
export interface NewCursor {
  position: number;
  horizon: number;
  collections: readonly string[];
}

/** The details of a 410 that says the server's database was restored since the cursor was issued. */
export interface RestoredDetails {
  reason: 'restored';
  /** When the backup was taken, when the database knows it: the device gives back what it holds from after it. */
  backupTakenAt?: string;
  /**
   * The last id of each of the caller's tenant's server-id collections in the backup, when the
   * database knows them (`{}`: the backup had issued the tenant none). A number the device holds
   * above its collection's was issued after the backup: the backup lacks that record, and the
   * restored server may have given the number to another.
   */
  lastIds?: Readonly<Record<string, string>>;
}

/**
 * The details of a 410 that says the database was restored, for a caller of `tenant`: what the
 * database knows of the backup (decision 0050), never another tenant's ids.
 */
export function restoredDetails(epoch: DatabaseEpoch, tenant: string): RestoredDetails {
  const { backupTakenAt, backupLastIds } = epoch;
  return {
    reason: 'restored',
    ...(backupTakenAt ? { backupTakenAt } : {}),
    ...(backupLastIds ? { lastIds: lastIdsOfTenant(backupLastIds, tenant) } : {}),
  };
}

const restoredMessage =
  'this server was restored from a backup since this cursor was issued: read everything again from the start';

/** Cursors issued now: `<position>.<horizon>.<collections>.<epoch>.<mac>`, five parts. */
const epochCursorPattern =
  /^(\d{1,15})\.(\d{1,15})\.([A-Za-z0-9_-]{0,4000})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/;
/** Cursors issued before they carried the epoch: `<position>.<horizon>[.<collections>].<mac>`, three or four parts. */
const olderCursorPattern = /^(\d{1,15})\.(\d{1,15})(?:\.([A-Za-z0-9_-]{0,4000}))?\.([A-Za-z0-9_-]{22})$/;

/** Whether a text has the form of a pull cursor (not whether it is one: only decode checks its MAC). */
export function isCursorText(text: string): boolean {
  return epochCursorPattern.test(text) || olderCursorPattern.test(text);
}

function collectionsOf(scope: string): string[] {
  // An empty list (a role that may read nothing) is an empty text, not a list of one empty name.
  return scope === '' ? [] : Buffer.from(scope, 'base64url').toString().split(',');
}

function notValid(): Error {
  return outpostError('VALIDATION_FAILED', 'cursor is not valid for this account', { field: 'cursor' });
}

/**
 * Pull cursors are opaque to clients. Issued now: `<position>.<horizon>.<collections>.<epoch>.<mac>`,
 * the collections' names sorted, comma-joined, in base64url, and the epoch of the database that
 * issued it (decision 0050). Older cursors are `<position>.<horizon>.<collections>.<mac>` and, from
 * before cursors named collections, `<position>.<horizon>.<mac>`: the number of parts tells the
 * forms apart, and those stay valid. The MAC binds a cursor to the tenant (and the epoch, for the
 * cursors that carry one). A cursor from another tenant or one made up fails the MAC and is refused
 * with 400, so a cursor can never be used to probe another clinic's change stream. A cursor whose
 * MAC holds but whose epoch is not this database's was issued by the database a restore replaced:
 * 410 CURSOR_EXPIRED, `details.reason: 'restored'`, and the device reads everything again.
 */
export class CursorCodec {
  /** Keys the cursors issued before they carried an epoch. */
  private readonly key: Buffer;
  /** Keys the cursors that carry one: a key of their own, so no MAC of one form is ever one of the other. */
  private readonly epochKey: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('outpost pull cursor v1').digest();
    this.epochKey = createHmac('sha256', secret).update('outpost pull cursor v2, with epoch').digest();
  }

  /** The MAC of a cursor of the older forms, as servers issued them: those devices hold stay valid. */
  private olderMac(tenant: string, c: PullCursor): Buffer {
    const scope = c.collections ? `\u0000${c.collections.join(',')}` : '';
    return createHmac('sha256', this.key)
      .update(`${tenant}\u0000${c.position}\u0000${c.horizon}${scope}`)
      .digest()
      .subarray(0, 16);
  }

  private epochMac(tenant: string, c: NewCursor, epoch: string): Buffer {
    return createHmac('sha256', this.epochKey)
      .update(`${tenant}\u0000${c.position}\u0000${c.horizon}\u0000${c.collections.join(',')}\u0000${epoch}`)
      .digest()
      .subarray(0, 16);
  }

  /** A cursor of `tenant` issued by the database whose epoch is `epoch` (SyncStore.epoch). */
  encode(tenant: string, given: NewCursor, epoch: string): string {
    // Sorted here, so the same collections make the same cursor whatever order a caller has them in.
    const c = { ...given, collections: [...given.collections].sort() };
    const scope = Buffer.from(c.collections.join(',')).toString('base64url');
    return `${c.position}.${c.horizon}.${scope}.${epoch}.${this.epochMac(tenant, c, epoch).toString('base64url')}`;
  }

  /**
   * The cursor `text` of `tenant`, checked against the epoch of the database reading it: 400 when
   * its MAC fails, then 410 (`details.reason: 'restored'`) when another database issued it.
   */
  decode(tenant: string, text: string, epoch: DatabaseEpoch): PullCursor {
    const current = epochCursorPattern.exec(text);
    if (current) {
      const c = {
        position: Number(current[1]),
        horizon: Number(current[2]),
        collections: collectionsOf(current[3] ?? ''),
      };
      const issuedIn = current[4] ?? '';
      const given = Buffer.from(current[5] ?? '', 'base64url');
      if (given.length !== 16 || !timingSafeEqual(given, this.epochMac(tenant, c, issuedIn)))
        throw notValid();
      if (issuedIn !== epoch.id)
        throw outpostError('CURSOR_EXPIRED', restoredMessage, restoredDetails(epoch, tenant));
      return { ...c, epoch: issuedIn };
    }
    const match = olderCursorPattern.exec(text);
    if (!match) throw notValid();
    const scope = match[3];
    const c: PullCursor = {
      position: Number(match[1]),
      horizon: Number(match[2]),
      ...(scope !== undefined ? { collections: collectionsOf(scope) } : {}),
    };
    const given = Buffer.from(match[4] ?? '', 'base64url');
    if (given.length !== 16 || !timingSafeEqual(given, this.olderMac(tenant, c))) throw notValid();
    return c;
  }
}
