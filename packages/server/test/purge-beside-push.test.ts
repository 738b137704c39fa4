// The daily tombstone purge runs beside pushes (on every instance, on PostgreSQL). A write that
// brings back a record whose tombstone is being purged must not meet the purge in a deadlock: the
// purge takes a tenant's lock first, as every write does, and waits its turn.
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import { push } from './sync-client';

describe.each(dialects())('a tombstone purge beside a push, on %s', (kind) => {
  it('lets a write that brings a purged record back finish, and then purges nothing of it', async () => {
    const server = await startTestServer(kind);
    try {
      const { store } = server.app.outpost;
      const nurse = await server.token('nurse@clinic-a.test');
      const id = uuidv7();
      await push(server, nurse, [
        { collection: 'patients', type: 'create', id, data: { name: 'Tiyamike' } },
        { collection: 'patients', type: 'delete', id, baseVersion: 1 },
      ]);

      // A write brings the patient back (as a person's resolution or a push may) and is held
      // inside its transaction, the tenant lock taken, before it writes the record.
      const tombstone = await store.getRecord('clinic-a', 'patients', id);
      if (tombstone === null) throw new Error('the tombstone is missing');
      let reached!: () => void;
      const inside = new Promise<void>((resolve) => (reached = resolve));
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const writing = store.write('clinic-a', 1, async (w) => {
        reached();
        await held;
        await w.writeRecords([
          {
            ...tombstone,
            deleted: false,
            version: tombstone.version + 1,
            data: { name: 'Tiyamike B.' },
            position: w.nextPosition(),
          },
        ]);
      });
      await inside;
      // Meanwhile the purge starts, for every tombstone up to now, and gets as far as it can.
      const purging = store.purgeTombstones(new Date(Date.now() + 60_000).toISOString());
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();

      const [, purged] = await Promise.all([writing, purging]);
      // The patient is back, and the purge, which read the tombstone before, left the record alone.
      expect(purged).toBe(0);
      expect(await store.getRecord('clinic-a', 'patients', id)).toMatchObject({
        deleted: false,
        data: { name: 'Tiyamike B.' },
      });
    } finally {
      await server.close();
      await server.storage.destroy();
    }
  });
});
