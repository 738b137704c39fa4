/**
 * Every op each device made, and where its intent went. The outbox folds unsent ops on one record
 * together (create + update -> create, update + delete -> delete, create + delete -> nothing) and
 * rewrites temp ids, so an op made on the device is not always the op the server hears of. The
 * ledger watches every batch a device's store commits and follows each op to the op that carries
 * it, so "no lost write" can be checked for every op a person made, folded or not.
 */
import type { OpType } from '@outpost/core';
import type { OutboxEntry, WriteBatch } from '@outpost/client';

export interface LedgerOp {
  device: string;
  opId: string;
  seq: number;
  collection: string;
  type: OpType;
  /** The id the op was made with: a temp id for server-id collections until it is mapped. */
  madeId: string;
  /** The op that took this one's intent when the outbox folded them together. */
  foldedInto?: string;
  /** Folded away with its record's create and delete before the server heard of either. */
  annihilated?: { create: boolean; delete: boolean };
  /** Taken off the device by a person once the server refused it (`queue.discard`), as it was then. */
  dismissed?: OutboxEntry;
}

interface Slot {
  opId: string;
  collection: string;
  id: string;
  type: OpType;
}

export class Ledger {
  readonly ops = new Map<string, LedgerOp>();
  private readonly slots = new Map<string, Map<number, Slot>>();
  /** Ops a person is dismissing right now: their leaving the outbox is no fold. */
  private readonly beingDismissed = new Map<string, OutboxEntry>();

  static key(device: string, opId: string): string {
    return `${device}\u0000${opId}`;
  }

  /** Called with each batch a device's store committed, in commit order. */
  observe(device: string, batch: WriteBatch): void {
    let slots = this.slots.get(device);
    if (!slots) this.slots.set(device, (slots = new Map()));
    for (const op of batch.putOps ?? []) {
      if (!slots.has(op.seq)) {
        this.ops.set(Ledger.key(device, op.opId), {
          device,
          opId: op.opId,
          seq: op.seq,
          collection: op.collection,
          type: op.type,
          madeId: op.id,
        });
      }
      slots.set(op.seq, { opId: op.opId, collection: op.collection, id: op.id, type: op.type });
    }
    const removed = (batch.deleteOps ?? []).flatMap((seq) => {
      const slot = slots.get(seq);
      slots.delete(seq);
      return slot ? [{ seq, ...slot }] : [];
    });
    for (const gone of removed) {
      const entry = this.ops.get(Ledger.key(device, gone.opId));
      if (!entry) continue;
      const dismissed = this.beingDismissed.get(Ledger.key(device, gone.opId));
      if (dismissed) {
        entry.dismissed = dismissed;
        continue;
      }
      const carrier = (batch.putOps ?? []).find(
        (p) => p.collection === gone.collection && p.id === gone.id && p.seq < gone.seq,
      );
      if (carrier) {
        entry.foldedInto = carrier.opId;
        continue;
      }
      const sameRecord = removed.filter((r) => r.collection === gone.collection && r.id === gone.id);
      entry.annihilated = {
        create: sameRecord.some((r) => r.type === 'create'),
        delete: sameRecord.some((r) => r.type === 'delete'),
      };
    }
  }

  /** Runs a person's dismissal of `ops` on `device`, so the ops it removes are known as dismissed. */
  async dismissing<T>(device: string, ops: readonly OutboxEntry[], run: () => Promise<T>): Promise<T> {
    for (const op of ops) this.beingDismissed.set(Ledger.key(device, op.opId), op);
    try {
      return await run();
    } finally {
      for (const op of ops) this.beingDismissed.delete(Ledger.key(device, op.opId));
    }
  }

  /** The op that finally carries `op`'s intent, or the op that annihilated it. */
  carrierOf(op: LedgerOp): LedgerOp {
    let current = op;
    const seen = new Set<string>();
    while (current.foldedInto !== undefined && !seen.has(current.opId)) {
      seen.add(current.opId);
      const next = this.ops.get(Ledger.key(current.device, current.foldedInto));
      if (!next) break;
      current = next;
    }
    return current;
  }

  opsOf(device: string): LedgerOp[] {
    return [...this.ops.values()].filter((o) => o.device === device);
  }
}
