import { createHmac } from 'node:crypto';
import { bytesToHex } from '@outpost/core';
import type { RandomBytes } from '@outpost/core';
import type { SyncStore } from '../storage/sync-store';

/** A keyed digest of `text`, as lowercase hex cut to `hexLength`. */
export type ContentDigest = (text: string, hexLength: number) => string;

/** The row of `server_secrets` holding the key. */
const secretName = 'content-ids';

/**
 * Ids made from what an operation holds, for clients that send none of their own: seed 000's queue
 * names an item by its operation, SmartDMV's ops by their queue row and content. The same
 * operation sent again after a lost answer must get the same id, so the id is a function of the
 * content; but the content is patient data, and the ids reach the op journal and the audit log,
 * which hold no record contents. A plain SHA-256 of it would let whoever reads those logs confirm a
 * guess ("was this visit's diagnosis X?") by hashing it. So the id is an HMAC under a key the
 * server makes once and keeps in its database: stable across restarts and shared by every instance,
 * useless to a reader of the logs without the database's secrets.
 */
export class ContentIds {
  private key: Promise<Buffer> | null = null;

  constructor(
    private readonly store: SyncStore,
    private readonly randomBytes: RandomBytes,
    private readonly now: () => Date,
  ) {}

  /** The digest function under the server's key, read (or made, by the first instance) once. */
  async digester(): Promise<ContentDigest> {
    this.key ??= this.loadKey().catch((err: unknown) => {
      // A database that failed once is asked again by the next request, not remembered as failed.
      this.key = null;
      throw err;
    });
    const key = await this.key;
    return (text, hexLength) => createHmac('sha256', key).update(text).digest('hex').slice(0, hexLength);
  }

  private async loadKey(): Promise<Buffer> {
    const db = this.store.db;
    // Two instances starting together may both make one; the first insert wins and both read it.
    await db
      .insertInto('server_secrets')
      .values({
        name: secretName,
        secret: bytesToHex(this.randomBytes(32)),
        created_at: this.now().toISOString(),
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await db
      .selectFrom('server_secrets')
      .select('secret')
      .where('name', '=', secretName)
      .executeTakeFirstOrThrow();
    return Buffer.from(row.secret, 'hex');
  }
}
