// Seed 003: "detects circular dependencies". Ops whose data makes them wait on each other in a
// loop cannot go in any order; neither can anything that waits on them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collection, defineSchema, uuidv7 } from '@outpost/core';
import { memoryStore } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

const permissions = { clinician: ['read', 'create', 'update', 'delete'] as const };
/** Folders of scanned documents, nested: a collection that references itself. */
const documents = defineSchema({
  name: 'documents',
  collections: {
    folders: collection({
      fields: z.object({ name: z.string(), parentId: z.string().optional() }),
      references: { parentId: 'folders' },
      permissions,
    }),
    files: collection({
      fields: z.object({ name: z.string(), folderId: z.string() }),
      references: { folderId: 'folders' },
      permissions,
    }),
  },
});

describe('ops caught in a dependency cycle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(documents);
  });
  afterAll(async () => server.close());

  it('holds back the cycle and everything waiting on it, and sends them all once the loop is broken', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      schema: documents,
    });
    const xrays = uuidv7();
    const scans = uuidv7();
    // Each folder put inside the other by mistake, and a scan filed in one of them.
    await client.collection('folders').create({ name: 'X-rays', parentId: scans }, { id: xrays });
    await client.collection('folders').create({ name: 'Scans', parentId: xrays }, { id: scans });
    const file = await client.collection('files').create({ name: 'chest.png', folderId: xrays });
    const other = await client.collection('files').create({ name: 'consent.pdf', folderId: 'none' });

    const first = await client.sync();
    // The loop is named, and nothing of it, nor the file inside it, reached the server to be
    // refused for good: only the file that waits on no folder went (and the server refused it).
    const sentIds = network.pushes().flatMap((p) => p.ops.map((o) => o.id));
    expect(sentIds).toEqual([other.id]);
    expect(first.pushed.held).toBe(3);
    const held = client.queue.list().filter((o) => o.heldReason !== undefined);
    expect(held.map((o) => o.id).sort()).toEqual([xrays, scans, file.id].sort());
    expect(held.find((o) => o.id === xrays)?.heldReason).toMatch(/cycle/);
    expect(held.find((o) => o.id === file.id)?.heldReason).toMatch(/cycle/);
    expect((await client.collection('files').get(file.id))?.refused).toBe(false);

    // A person takes X-rays out of Scans: the loop is gone, and all three go.
    await client.collection('folders').update(xrays, { parentId: null });
    const second = await client.sync();
    expect(second.success).toBe(true);
    expect(second.pushed).toMatchObject({ applied: 3, rejected: 0, held: 0 });
    for (const id of [xrays, scans, file.id]) {
      expect(
        client.queue
          .list()
          .filter((o) => o.id === id)
          .map((o) => o.status),
      ).toEqual(['done']);
    }
  });
});
