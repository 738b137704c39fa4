import { createHash } from 'node:crypto';
import { stableStringify } from '@outpost/core';
import type { SyncStore } from '../../storage/sync-store';
import type { ContentDigest } from '../content-ids';

const prefix = 'smartdmv-';

/**
 * The opId of a SmartDMV operation, made from what its queue keeps unchanged when it resends one:
 * the queue row's id and the client timestamp, or for a create the device's temp id (a device
 * creates each temp id once), together with the operation's content and the user. An operation
 * with none of them has nothing stable, so it gets a fresh opId: a resend after a lost answer is
 * then a new op. The digest is keyed (ContentIds): the content is patient data, the opId is not.
 */
export function seedOpId(parts: {
  digest: ContentDigest;
  userId: string;
  stable: boolean;
  content: readonly unknown[];
  fresh: () => string;
}): string {
  return parts.stable
    ? prefix + parts.digest(stableStringify([parts.userId, ...parts.content]), 40)
    : `${prefix}${parts.fresh()}`;
}

/** The opId a resend of a rejected op goes under: the next link of a chain only the first key starts. */
function retryOf(opId: string): string {
  // Made from the opId alone, which tells nothing of the content: no key needed.
  return prefix + createHash('sha256').update(`${opId}/retry`).digest('hex').slice(0, 40);
}

/**
 * The journal answers a repeated opId with its first outcome, forever. A rejected operation changed
 * nothing, and SmartDMV's queue retries a failed operation unchanged once its cause is fixed (the
 * pet created, the owner saved), so an opId whose journaled outcome is a rejection moves on along
 * its retry chain; one that was applied or conflicted stays, and its resend is a duplicate. The
 * chain is a function of the journal, so two deliveries of one resend still share one opId.
 */
export async function journalOpIds(
  store: SyncStore,
  tenant: string,
  opIds: readonly string[],
): Promise<string[]> {
  const ids = [...opIds];
  if (ids.length === 0) return ids;
  return store.write(tenant, 0, async (w) => {
    let open = ids.map((_, i) => i);
    while (open.length > 0) {
      const seen = await w.loadOps(open.map((i) => ids[i] ?? ''));
      open = open.filter((i) => {
        const id = ids[i] ?? '';
        if (seen.get(id)?.result.status !== 'rejected') return false;
        ids[i] = retryOf(id);
        return true;
      });
    }
    return ids;
  });
}
