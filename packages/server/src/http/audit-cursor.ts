import { createHmac, timingSafeEqual } from 'node:crypto';
import { outpostError } from '@outpost/core';
import type { AuditPosition } from '../storage/sync-store';

// An op id is at most 128 characters, each at most 6 bytes of JSON (a control character escaped).
const cursorPattern = /^([A-Za-z0-9_-]{1,1400})\.([A-Za-z0-9_-]{22})$/;

/**
 * The cursor of `GET /v1/audit`: where the last page ended (AuditPosition), opaque to clients:
 * `<position as base64url JSON>.<mac>`. The MAC, keyed from the JWT secret, binds it to the tenant
 * whose page it ended, as pull cursors are bound: another clinic's cursor, or one made up, is
 * refused with 400 and reads nothing, so no cursor can point into another clinic's trail.
 */
export class AuditCursorCodec {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('outpost audit cursor v1').digest();
  }

  private mac(tenant: string, payload: string): Buffer {
    return createHmac('sha256', this.key).update(`${tenant}\u0000${payload}`).digest().subarray(0, 16);
  }

  encode(tenant: string, position: AuditPosition): string {
    const key = position.source === 'op' ? position.opId : position.seq;
    const payload = Buffer.from(JSON.stringify([position.at, position.source, key])).toString('base64url');
    return `${payload}.${this.mac(tenant, payload).toString('base64url')}`;
  }

  decode(tenant: string, cursor: string): AuditPosition {
    const match = cursorPattern.exec(cursor);
    const payload = match?.[1] ?? '';
    const given = Buffer.from(match?.[2] ?? '', 'base64url');
    const position =
      match && given.length === 16 && timingSafeEqual(given, this.mac(tenant, payload))
        ? positionOf(payload)
        : null;
    if (position === null) {
      throw outpostError('VALIDATION_FAILED', 'cursor is not valid for this account', {
        field: 'cursor',
      });
    }
    return position;
  }
}

/** The position a signed payload names; null for one of another form (a future version's, say). */
function positionOf(payload: string): AuditPosition | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString());
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) return null;
  const [at, source, key] = parsed as unknown[];
  if (typeof at !== 'string' || at.length === 0 || at.length > 64) return null;
  if (source === 'op' && typeof key === 'string' && key.length > 0 && key.length <= 128)
    return { at, source, opId: key };
  if (source === 'event' && typeof key === 'number' && Number.isSafeInteger(key) && key >= 0)
    return { at, source, seq: key };
  return null;
}
