import type { PushGuard } from '../../push/apply-push';
import type { StoredOp } from '../../storage/sync-store';

/** How many links of an op id's chain the guard reads at once. */
const lookahead = 16;

/**
 * The n-th link of an op id's chain. Item ids never hold `~` or `:`, so no link of one item's chain
 * is another item's op id.
 */
export function linkOf(base: string, link: number): string {
  return link === 0 ? base : `${base}~${link}`;
}

/** Thrown inside the push's transaction: the link it carries is another sender's; `next` is free or ours. */
export class OpIdTaken extends Error {
  constructor(readonly next: number) {
    super('the queue item’s op id is already journaled for another sender');
  }
}

/** Who journals a queue item's ops: its user (from the token, so no one else can be them) through the queue. */
export interface QueueSender {
  userId: string;
  clientId: string;
}

function mine(op: StoredOp | undefined, sender: QueueSender): boolean {
  return op === undefined || (op.userId === sender.userId && op.clientId === sender.clientId);
}

/**
 * The journal answers an op id with its first outcome, whoever sent it: a v1 push may carry any op
 * id, so another user of the clinic could send the one a queue item will use first, and the item
 * would be answered as that op (its record, its outcome) while its own change never applied. So
 * inside the push's transaction, under the tenant lock, the link the push carries must be unused or
 * this item's own; otherwise the push is rolled back and the caller sends the next free link. Only
 * the journal decides the link, so two deliveries of one attempt still share an op id.
 */
export function ownLinkGuard(base: string, link: number, sender: QueueSender): PushGuard {
  return {
    before: async (w) => {
      const links = Array.from({ length: lookahead }, (_, i) => linkOf(base, link + i));
      const held = await w.loadOps(links);
      if (mine(held.get(links[0] ?? ''), sender)) return;
      const free = links.findIndex((id) => mine(held.get(id), sender));
      throw new OpIdTaken(link + (free === -1 ? lookahead : free));
    },
  };
}
