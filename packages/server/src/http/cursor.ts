import { createHmac, timingSafeEqual } from 'node:crypto';
import { OutpostError } from '@outpost/core';

/**
 * Where a client stands in its tenant's change stream: everything up to `position` applied, as
 * seen while tombstones up to `horizon` were already purged.
 */
export interface PullCursor {
  position: number;
  horizon: number;
  /**
   * The collections the pull named (selective sync), sorted; absent when it named none and read
   * every collection its role may read. A later pull from this cursor may read these or fewer: a
   * collection added to the filter had changes before `position` this cursor never carried.
   */
  collections?: readonly string[];
}

/**
 * Pull cursors are opaque to clients: `<position>.<horizon>.<mac>`, or
 * `<position>.<horizon>.<collections>.<mac>` after a pull that named its collections (their names,
 * comma-joined, base64url). The MAC binds them to the tenant. A cursor from another tenant or one
 * made up fails the MAC and is refused with 400, so a cursor can never be used to probe another
 * clinic's change stream.
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

  encode(tenant: string, c: PullCursor): string {
    const scope = c.collections ? `.${Buffer.from(c.collections.join(',')).toString('base64url')}` : '';
    return `${c.position}.${c.horizon}${scope}.${this.mac(tenant, c).toString('base64url')}`;
  }

  decode(tenant: string, cursor: string): PullCursor {
    const match = /^(\d{1,15})\.(\d{1,15})(?:\.([A-Za-z0-9_-]{1,4000}))?\.([A-Za-z0-9_-]{22})$/.exec(cursor);
    const scope = match?.[3];
    const c: PullCursor = {
      position: Number(match?.[1]),
      horizon: Number(match?.[2]),
      ...(scope !== undefined ? { collections: Buffer.from(scope, 'base64url').toString().split(',') } : {}),
    };
    const given = match ? Buffer.from(match[4] ?? '', 'base64url') : Buffer.alloc(0);
    if (!match || given.length !== 16 || !timingSafeEqual(given, this.mac(tenant, c))) {
      throw new OutpostError('VALIDATION_FAILED', 'cursor is not valid for this account', {
        field: 'cursor',
      });
    }
    return c;
  }
}
