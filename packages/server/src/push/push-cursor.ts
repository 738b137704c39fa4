/**
 * The pull cursor a device may send with its push (decision 0050). A device that has not heard of
 * a restore still holds records under server ids the lost database issued after the backup, which
 * the restored server hands out again: its push would land on the other record the restored server
 * gave that number. Its cursor tells: one of another database, or ahead of the clinic, refuses the
 * push before anything is applied or journaled, with the 410 a pull would have given (the backup's
 * last ids included), and the device reads everything again first.
 */
import type { CursorCodec } from '../http/cursor';
import { checkReached } from '../pull/pull-scope';
import type { SyncStore } from '../storage/sync-store';

/**
 * Checks a push's cursor as pull does: 400 when its MAC fails, 410 restored when another database
 * issued it (CursorCodec) or its position is above the tenant's, which no pull of this database
 * issued (checkReached: all that tells of a cursor from before cursors carried an epoch). Positions
 * only grow, so a cursor that passes here could not be refused inside the push's transaction.
 */
export async function checkPushCursor(
  store: SyncStore,
  cursors: CursorCodec,
  tenant: string,
  text: string,
): Promise<void> {
  const epoch = await store.epoch();
  const cursor = cursors.decode(tenant, text, epoch);
  checkReached(cursor.position, (await store.positions(tenant)).position, tenant, epoch);
}
