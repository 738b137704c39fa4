// A push's `cursor` (decision 0050; docs/server.md, "A push, step by step"): the device's current
// pull cursor. A device that has not heard of a restore holds records under server ids the lost
// database issued after the backup, which the restored server hands out again: its push would land
// on the other record now under that number. With a cursor of the lost database, or one ahead of
// the clinic, the push is refused 410 restored (the backup's last ids included) before anything is
// applied, journaled or recorded of the device; a cursor this server cannot have issued is 400.
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempId } from '@outpost/core';
import type { Change, ErrorBody, PushResponse } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { markRestored } from '../src/index';
import { dialects } from './server-fixture';
import type { DialectName, TestServer } from './server-fixture';
import { olderCursor, restoreHarness } from './restore-places';
import { hlc, opId, pullAll, push } from './sync-client';

const owner = (name: string) => ({
  collection: 'users',
  type: 'create' as const,
  id: makeTempId('users'),
  data: { name, role: 'CLIENT' },
});
const nameOf = (changes: readonly Change[], id: string) =>
  changes.find((c) => c.collection === 'users' && c.id === id)?.data?.['name'];
const backupLastIds = { users: '3' };

describe.each(dialects())('a push’s cursor, on %s', (kind: DialectName) => {
  const { place, copyOf, serverOn, stop, cleanUp } = restoreHarness(kind, vetPractice);
  afterEach(cleanUp);

  /**
   * A practice restored from a backup of three owners (1, 2, 3). After the backup the tablet
   * registered a fourth (4) and pulled: its cursor is the lost database's. On the restored server a
   * colleague registered someone else, numbered 4 again.
   */
  async function restoredPractice(): Promise<{ server: TestServer; vet: string; lostCursor: string }> {
    const live = await place();
    let server = await serverOn(live);
    const vet = await server.token('vet@vet-a.test');
    await push(server, vet, [owner('Ruth'), owner('Peter'), owner('Grace')]);
    await stop(server);
    const backup = await copyOf(live);
    server = await serverOn(live);
    const tabletVet = await server.token('vet@vet-a.test');
    expect((await push(server, tabletVet, [owner('Lost owner')])).results[0]?.id).toBe('4');
    const lostCursor = (await pullAll(server, tabletVet)).cursor;
    await stop(server);

    await markRestored(backup.target);
    server = await serverOn(backup);
    const colleague = await server.token('vet@vet-a.test');
    expect(
      (await push(server, colleague, [owner('Someone else')], { deviceId: 'desk' })).results[0]?.id,
    ).toBe('4');
    return { server, vet: colleague, lostCursor };
  }

  /** The tablet's push: an edit of owner 4 (the lost one, to the tablet) and a new owner. */
  function tabletBody(cursor?: unknown): Record<string, unknown> {
    return {
      clientId: 'tablet-client',
      deviceId: 'tablet-lost',
      ops: [
        {
          opId: opId(),
          hlc: hlc(),
          collection: 'users',
          type: 'update',
          id: '4',
          baseVersion: 1,
          data: { name: 'Lost owner, new phone' },
        },
        { opId: opId(), hlc: hlc(), ...owner('Registered offline') },
      ],
      ...(cursor === undefined ? {} : { cursor }),
    };
  }

  const pushBody = (server: TestServer, token: string, body: unknown) =>
    server.request<PushResponse & ErrorBody>({ method: 'POST', url: '/v1/sync/push', token, body });

  /** What a refused push must have left as it was: the records, the counters, the journal, the device. */
  async function stored(server: TestServer, token: string): Promise<unknown> {
    const db = server.app.outpost.store.db;
    return {
      records: (await pullAll(server, token)).changes.map((c) => [c.collection, c.id, c.version, c.data]),
      counters: await db.selectFrom('id_counters').select(['tenant', 'collection', 'last_id']).execute(),
      journal: (
        await db
          .selectFrom('ops')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst()
      )?.n,
      devices: await db.selectFrom('devices').select(['device_id']).orderBy('device_id').execute(),
    };
  }

  it('refuses 410 restored, with the backup’s last ids, a push whose cursor the lost database issued, and stores nothing of it', async () => {
    const { server, vet, lostCursor } = await restoredPractice();
    const before = await stored(server, vet);
    const body = tabletBody(lostCursor);
    const refused = await pushBody(server, vet, body);
    expect(refused.status, JSON.stringify(refused.body)).toBe(410);
    expect(refused.body.error.code).toBe('CURSOR_EXPIRED');
    expect(refused.body.error.details).toEqual({ reason: 'restored', lastIds: backupLastIds });
    expect(await stored(server, vet)).toEqual(before);

    // The same ops again without the cursor are new to the server: they were never journaled. And
    // they show what the cursor prevents: the tablet's edit lands on the colleague's owner 4.
    const { cursor: _, ...without } = body;
    const applied = await pushBody(server, vet, without);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.results.map((r) => [r.status, r.id])).toEqual([
      ['applied', '4'],
      ['applied', '5'],
    ]);
    expect(nameOf((await pullAll(server, vet)).changes, '4')).toBe('Lost owner, new phone');
  });

  it('applies a push whose cursor is current, and one of an older form within the clinic’s positions', async () => {
    const { server, vet } = await restoredPractice();
    const { cursor } = await pullAll(server, vet);
    const res = await pushBody(server, vet, tabletBody(cursor));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results.map((r) => r.status)).toEqual(['applied', 'applied']);
    const older = await pushBody(server, vet, {
      clientId: 'tablet-client',
      deviceId: 'tablet-2',
      ops: [{ opId: opId(), ...owner('Older cursor') }],
      cursor: olderCursor('vet-a', 2, 0),
    });
    expect(older.status, JSON.stringify(older.body)).toBe(200);
    expect(older.body.results.map((r) => r.status)).toEqual(['applied']);
  });

  it('refuses 410 restored a cursor ahead of the clinic’s positions: of an older form, on a restored server or one never restored', async () => {
    const { server, vet } = await restoredPractice();
    let before = await stored(server, vet);
    // Positions 1 to 4 on the restored server: an older cursor at 9 was issued by another database.
    let refused = await pushBody(server, vet, tabletBody(olderCursor('vet-a', 9, 0)));
    expect(refused.status, JSON.stringify(refused.body)).toBe(410);
    expect(refused.body.error).toMatchObject({
      code: 'CURSOR_EXPIRED',
      details: { reason: 'restored', lastIds: backupLastIds },
    });
    expect(await stored(server, vet)).toEqual(before);

    const plain = await serverOn(await place());
    const token = await plain.token('vet@vet-a.test');
    await push(plain, token, [owner('Ruth')]);
    before = await stored(plain, token);
    refused = await pushBody(plain, token, tabletBody(olderCursor('vet-a', 2, 0, ['users'])));
    expect(refused.status, JSON.stringify(refused.body)).toBe(410);
    // Never restored: nothing to say of a backup.
    expect(refused.body.error.details).toEqual({ reason: 'restored' });
    expect(await stored(plain, token)).toEqual(before);
  });

  it('refuses 400 a cursor this server did not issue to this clinic, or no cursor at all, and stores nothing', async () => {
    const { server, vet } = await restoredPractice();
    const { cursor } = await pullAll(server, vet);
    const parts = cursor.split('.');
    const otherClinic = (await pullAll(server, await server.token('nurse@clinic-b.test'))).cursor;
    const before = await stored(server, vet);
    for (const forged of [
      // The position changed by hand, the MAC kept.
      [String(Number(parts[0]) + 1), ...parts.slice(1)].join('.'),
      otherClinic,
      olderCursor('clinic-b', 1, 0),
      'not a cursor',
      '',
    ]) {
      const res = await pushBody(server, vet, tabletBody(forged));
      expect(res.status, forged).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'cursor' } });
    }
    for (const notText of ['1'.repeat(4097), 12, null, { position: 1 }]) {
      const res = await pushBody(server, vet, tabletBody(notText));
      expect(res.status, JSON.stringify(notText)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.details).toEqual([expect.objectContaining({ path: 'cursor' })]);
    }
    expect(await stored(server, vet)).toEqual(before);
  });
  // SmartDMV devices (seeds 001 and 003) hold the same sync point, a v1 cursor: sent with their push
  // or upload (`lastSyncTimestamp`, `lastSync`, as each seed's pull names it), it is checked the same.
  it('refuses 410 restored a SmartDMV push or upload sent with the lost database’s sync point, and takes one with a current sync point, a time or none', async () => {
    const { server, vet, lostCursor } = await restoredPractice();
    const operations = (name: string) => [
      { id: 1, operation: 'update', entityType: 'users', entityId: '4', version: 1, data: { name } },
    ];
    const send = (url: string, body: unknown) =>
      server.request<{ results: Array<{ success: boolean }> } & ErrorBody>({
        method: 'POST',
        url,
        token: vet,
        body,
      });
    const before = await stored(server, vet);
    for (const [url, field] of [
      ['/api/sync/push', 'lastSyncTimestamp'],
      ['/api/sync/upload', 'lastSync'],
    ] as const) {
      const refused = await send(url, {
        operations: operations('Lost owner, new phone'),
        [field]: lostCursor,
      });
      expect(refused.status, JSON.stringify(refused.body)).toBe(410);
      expect(refused.body.error).toMatchObject({
        code: 'CURSOR_EXPIRED',
        details: { reason: 'restored', lastIds: backupLastIds },
      });
      const forged = await send(url, { operations: operations('x'), [field]: 'not a sync point' });
      expect(forged.status, JSON.stringify(forged.body)).toBe(400);
      expect(forged.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    }
    expect(await stored(server, vet)).toEqual(before);

    // A sync point of the restored server, a time (which names no database) and none go through.
    const { cursor } = await pullAll(server, vet);
    for (const [url, body] of [
      ['/api/sync/push', { operations: operations('With a current sync point'), lastSyncTimestamp: cursor }],
      ['/api/sync/upload', { operations: operations('With a time'), lastSync: Date.now() }],
      ['/api/sync/push', { operations: operations('With none') }],
    ] as const) {
      const res = await send(url, body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.results.map((r) => r.success)).toEqual([true]);
    }
    expect(nameOf((await pullAll(server, vet)).changes, '4')).toBe('With none');
  });
});
