import { createHmac, timingSafeEqual } from 'node:crypto';
import { OutpostError } from '@outpost/core';

/**
 * Pull cursors are opaque to clients: `<position>.<mac>`, where the MAC binds the position to the
 * tenant. A cursor from another tenant or one made up fails the MAC and is refused with 400, so a
 * cursor can never be used to probe another clinic's change stream.
 */
export class CursorCodec {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('outpost pull cursor v1').digest();
  }

  private mac(tenant: string, position: number): Buffer {
    return createHmac('sha256', this.key).update(`${tenant}\u0000${position}`).digest().subarray(0, 16);
  }

  encode(tenant: string, position: number): string {
    return `${position}.${this.mac(tenant, position).toString('base64url')}`;
  }

  decode(tenant: string, cursor: string): number {
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{22})$/.exec(cursor);
    const position = match ? Number(match[1]) : NaN;
    const given = match ? Buffer.from(match[2] ?? '', 'base64url') : Buffer.alloc(0);
    if (!match || given.length !== 16 || !timingSafeEqual(given, this.mac(tenant, position))) {
      throw new OutpostError('VALIDATION_FAILED', 'cursor is not valid for this account', { field: 'cursor' });
    }
    return position;
  }
}
