// Restart on the same data: records, versions, cursors and seen opIds all survive.
import { describe, expect, it } from 'vitest';
import { makeTempId, uuidv7 } from '@outpost/core';
import type { PushResponse } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { createStorage, dialects, startTestServer } from './server-fixture';
import { hlc, opId, pullAll, push } from './sync-client';

describe.each(dialects())('restart on %s', (kind) => {
  it('keeps records, versions, cursors, seen opIds and temp-id mappings', async () => {
    const storage = await createStorage(kind);
    try {
      const id = uuidv7();
      const body = {
        clientId: 'c1',
        deviceId: 'd1',
        ops: [
          {
            opId: opId(),
            collection: 'patients',
            type: 'create',
            id,
            data: { name: 'Before restart' },
            hlc: hlc(),
          },
          {
            opId: opId(),
            collection: 'patients',
            type: 'update',
            id,
            baseVersion: 1,
            data: { village: 'Ntcheu' },
            hlc: hlc(),
          },
        ],
      };
      const first = await startTestServer(kind, { storage });
      const nurse = await first.token('nurse@clinic-a.test');
      const original = await first.request<PushResponse>({
        method: 'POST',
        url: '/v1/sync/push',
        token: nurse,
        body,
      });
      const { cursor } = await pullAll(first, nurse);
      await first.close();

      const second = await startTestServer(kind, { storage });
      // The old token still works: same secret, and sessions are not kept in memory.
      const again = await second.request<PushResponse>({
        method: 'POST',
        url: '/v1/sync/push',
        token: nurse,
        body,
      });
      expect(again.body.results.map((r) => [r.status, r.originalStatus, r.version])).toEqual(
        original.body.results.map((r) => ['duplicate', r.status, r.version]),
      );
      const record = await second.request({ method: 'GET', url: `/v1/records/patients/${id}`, token: nurse });
      expect(record.body).toMatchObject({ version: 2, data: { name: 'Before restart', village: 'Ntcheu' } });
      // The cursor from before the restart continues exactly where it was.
      expect((await pullAll(second, nurse, { cursor })).changes).toEqual([]);
      await push(second, nurse, [
        { collection: 'patients', type: 'update', id, baseVersion: 2, data: { phone: '+265 2' } },
      ]);
      const next = await pullAll(second, nurse, { cursor });
      expect(next.changes.map((c) => [c.id, c.version])).toEqual([[id, 3]]);
      await second.close();
    } finally {
      await storage.destroy();
    }
  });

  it('remembers temp-id mappings and keeps assigning fresh server ids', async () => {
    const storage = await createStorage(kind);
    try {
      const first = await startTestServer(kind, { storage, schema: vetPractice });
      const vet = await first.token('vet@vet-a.test');
      const owner = makeTempId('users');
      const created = await push(
        first,
        vet,
        [{ collection: 'users', type: 'create', id: owner, data: { name: 'Ruth' } }],
        { clientId: 'c1' },
      );
      await first.close();

      const second = await startTestServer(kind, { storage, schema: vetPractice });
      const pet = await push(
        second,
        vet,
        [
          {
            collection: 'pets',
            type: 'create',
            id: makeTempId('pets'),
            data: { name: 'Simba', ownerId: owner },
          },
          { collection: 'users', type: 'create', id: makeTempId('users'), data: { name: 'Another owner' } },
        ],
        { clientId: 'c1' },
      );
      expect(pet.results.map((r) => r.status)).toEqual(['applied', 'applied']);
      const record = await second.request<{ data: { ownerId: string } }>({
        method: 'GET',
        url: `/v1/records/pets/${pet.results[0]?.id}`,
        token: vet,
      });
      expect(record.body.data.ownerId).toBe(created.results[0]?.id);
      expect(pet.results[1]?.id).not.toBe(created.results[0]?.id);
      await second.close();
    } finally {
      await storage.destroy();
    }
  });
});
