import { createHmac, timingSafeEqual } from 'node:crypto';
import { outpostError } from '@outpost/core';

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
}

const cursorPattern = /^(\d{1,15})\.(\d{1,15})(?:\.([A-Za-z0-9_-]{0,4000}))?\.([A-Za-z0-9_-]{22})$/;

/** Whether a text has the form of a pull cursor (not whether it is one: only decode checks its MAC). */
export function isCursorText(text: string): boolean {
  return cursorPattern.test(text);
}

/**
 * Pull cursors are opaque to clients: `<position>.<horizon>.<collections>.<mac>`, the collections'
 * names sorted, comma-joined, in base64url; cursors issued before they named them are
 * `<position>.<horizon>.<mac>`, and stay valid. The MAC binds them to the tenant. A cursor from
 * another tenant or one made up fails the MAC and is refused with 400, so a cursor can never be
 * used to probe another clinic's change stream.
 */
export class CursorCodec {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('outpost pull cursor v1').digest();
  }

  private mac(tenant: string, c: PullCursor): Buffer {
    // Cursors without collections are signed as before they could have any: those devices hold stay valid.
    const scope = c.collections ? `\u0000${c.collections.join(',')}` : '';
    return createHmac('sha256', this.key)
      .update(`${tenant}\u0000${c.position}\u0000${c.horizon}${scope}`)
      .digest()
      .subarray(0, 16);
  }

  encode(tenant: string, given: PullCursor): string {
    // Sorted here, so the same collections make the same cursor whatever order a caller has them in.
    const c = given.collections ? { ...given, collections: [...given.collections].sort() } : given;
    const scope = c.collections ? `.${Buffer.from(c.collections.join(',')).toString('base64url')}` : '';
    return `${c.position}.${c.horizon}${scope}.${this.mac(tenant, c).toString('base64url')}`;
  }

  decode(tenant: string, cursor: string): PullCursor {
    const match = cursorPattern.exec(cursor);
    const scope = match?.[3];
    const c: PullCursor = {
      position: Number(match?.[1]),
      horizon: Number(match?.[2]),
      // An empty list (a role that may read nothing) is an empty text, not a list of one empty name.
      ...(scope !== undefined
        ? { collections: scope === '' ? [] : Buffer.from(scope, 'base64url').toString().split(',') }
        : {}),
    };
    const given = match ? Buffer.from(match[4] ?? '', 'base64url') : Buffer.alloc(0);
    if (!match || given.length !== 16 || !timingSafeEqual(given, this.mac(tenant, c))) {
      throw outpostError('VALIDATION_FAILED', 'cursor is not valid for this account', {
        field: 'cursor',
      });
    }
    return c;
  }
}
