// The database's epoch in the pull cursors (decision 0050; docs/server.md, "Backups and restore").
// A server restored from a backup, and marked so, refuses every cursor the lost database issued
// (410 CURSOR_EXPIRED, `details.reason: 'restored'`), also once the restored clinic's positions
// have passed it, which a check of positions alone never saw. Cursors issued before they carried
// an epoch keep working; a restart keeps the epoch; an epoch changed by hand fails the MAC (400).
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { Change, ErrorBody } from '@outpost/core';
import { markRestored } from '../src/index';
import { isCursorText } from '../src/http/cursor';
import { dialects } from './server-fixture';
import type { DialectName, TestServer } from './server-fixture';
import { olderCursor, restoreHarness } from './restore-places';
import { pull, pullAll, push } from './sync-client';

const patient = (name: string) => ({
  collection: 'patients',
  type: 'create' as const,
  id: uuidv7(),
  data: { name },
});
const names = (changes: readonly Change[]) => changes.map((c) => String(c.data?.['name'])).sort();

describe('the forms of a pull cursor', () => {
  it('are each told apart by the number of their parts, and none is a time', () => {
    const epoch = randomBytes(16).toString('base64url');
    const mac = randomBytes(16).toString('base64url');
    const scope = Buffer.from('encounters,patients').toString('base64url');
    // Today's, and the two older forms SmartDMV devices may hold as their sync point.
    for (const text of [
      `12.3.${scope}.${epoch}.${mac}`,
      `12.3..${epoch}.${mac}`,
      `12.3.${scope}.${mac}`,
      `12.3.${mac}`,
    ])
      expect(isCursorText(text), text).toBe(true);
    for (const text of [
      '2026-02-17T00:00:00Z',
      '1718000000000',
      `12.3.${scope}.${epoch}.${mac}.x`,
      `12.${mac}`,
    ])
      expect(isCursorText(text), text).toBe(false);
  });
});

describe.each(dialects())('the database’s epoch in pull cursors, on %s', (kind: DialectName) => {
  const { place, copyOf, serverOn, stop, cleanUp } = restoreHarness(kind);
  afterEach(cleanUp);

  const pullWith = (server: TestServer, token: string, cursor: string) =>
    server.request<ErrorBody>({
      method: 'GET',
      url: `/v1/sync/pull?cursor=${encodeURIComponent(cursor)}`,
      token,
    });

  it('refuses a cursor from before the restore with 410 restored, even once the restored clinic’s positions have passed it', async () => {
    const live = await place();
    let server = await serverOn(live);
    let nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Amina'), patient('Joseph')]);
    await stop(server);
    // The backup: a copy of the database as it stood, restored as the docs say, marked.
    const backup = await copyOf(live);

    server = await serverOn(live);
    nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Lost 1'), patient('Lost 2'), patient('Lost 3')]);
    const tablet = await pullAll(server, nurse);
    expect(names(tablet.changes)).toEqual(['Amina', 'Joseph', 'Lost 1', 'Lost 2', 'Lost 3']);
    await stop(server);

    // Restored, and a colleague's device registers four patients before the tablet pulls again:
    // the clinic's positions pass the tablet's cursor.
    expect((await markRestored(backup.target)).epoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const back = await serverOn(backup);
    const colleague = await back.token('nurse@clinic-a.test');
    await push(back, colleague, [patient('New 1'), patient('New 2'), patient('New 3'), patient('New 4')], {
      deviceId: 'tablet-2',
    });
    const refused = await pullWith(back, colleague, tablet.cursor);
    expect(refused.status, JSON.stringify(refused.body)).toBe(410);
    expect(refused.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
    expect(refused.body.error.message).toMatch(/restored from a backup/);

    // Read from the start, as the client then does: what the restored clinic holds, the lost patients not.
    const reread = await pullAll(back, colleague);
    expect(names(reread.changes)).toEqual(['Amina', 'Joseph', 'New 1', 'New 2', 'New 3', 'New 4']);
    expect((await pullAll(back, colleague, { cursor: reread.cursor })).changes).toEqual([]);
  });

  it('refuses a SmartDMV sync point from before the restore alike', async () => {
    const live = await place();
    let server = await serverOn(live);
    const nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Amina'), patient('Joseph'), patient('Grace')]);
    const page = await server.request<{ nextTimestamp: string | null; timestamp: string }>({
      method: 'GET',
      url: '/api/sync/pull?lastSyncTimestamp=',
      token: nurse,
    });
    const syncPoint = encodeURIComponent(page.body.nextTimestamp ?? page.body.timestamp);
    await stop(server);
    const restored = await copyOf(live);
    await markRestored(restored.target);
    server = await serverOn(restored);
    const colleague = await server.token('nurse@clinic-a.test');
    await push(server, colleague, [patient('New 1')]);
    const res = await server.request<ErrorBody>({
      method: 'GET',
      url: `/api/sync/pull?lastSyncTimestamp=${syncPoint}`,
      token: colleague,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(410);
    expect(res.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
  });

  it('a copy made another way keeps the lost database’s epoch until mark-restored gives it a new one', async () => {
    const live = await place();
    let server = await serverOn(live);
    const nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Amina'), patient('Joseph')]);
    const tablet = await pullAll(server, nurse);
    const liveEpoch = (await server.app.outpost.store.epoch()).id;
    await stop(server);
    const restored = await copyOf(live);

    // Not marked: the copy is the same database to the cursors, which read on from it.
    server = await serverOn(restored);
    expect((await server.app.outpost.store.epoch()).id).toBe(liveEpoch);
    expect((await pullWith(server, await server.token('nurse@clinic-a.test'), tablet.cursor)).status).toBe(
      200,
    );
    await stop(server);

    const marked = await markRestored(restored.target);
    expect(marked.epoch).not.toBe(liveEpoch);
    server = await serverOn(restored);
    expect((await server.app.outpost.store.epoch()).id).toBe(marked.epoch);
    const refused = await pullWith(server, await server.token('nurse@clinic-a.test'), tablet.cursor);
    expect(refused.status, JSON.stringify(refused.body)).toBe(410);
    // The field clinic numbers nothing on the server: the backup had issued no id, and says so.
    expect(refused.body.error.details).toEqual({ reason: 'restored', lastIds: {} });
    // The live database was not touched: its own cursors are as good as ever there.
    await stop(server);
    server = await serverOn(live);
    expect((await server.app.outpost.store.epoch()).id).toBe(liveEpoch);
    expect((await pullWith(server, await server.token('nurse@clinic-a.test'), tablet.cursor)).status).toBe(
      200,
    );
  });

  it('keeps the epoch across a restart on the same database: the cursors issued before go on', async () => {
    const live = await place();
    let server = await serverOn(live);
    let nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Amina')]);
    const first = await pullAll(server, nurse);
    const epoch = (await server.app.outpost.store.epoch()).id;
    expect(epoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // The cursor carries it: <position>.<horizon>.<collections>.<epoch>.<mac>.
    expect(first.cursor.split('.')[3]).toBe(epoch);
    await stop(server);

    server = await serverOn(live);
    expect((await server.app.outpost.store.epoch()).id).toBe(epoch);
    nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Joseph')]);
    const next = await pullAll(server, nurse, { cursor: first.cursor });
    expect(names(next.changes)).toEqual(['Joseph']);
    expect(next.cursor.split('.')[3]).toBe(epoch);
  });

  it('makes a different epoch for each new database', async () => {
    const a = await serverOn(await place());
    const b = await serverOn(await place());
    expect((await a.app.outpost.store.epoch()).id).not.toBe((await b.app.outpost.store.epoch()).id);
  });

  it('refuses with 400 a cursor whose epoch was changed, as it refuses any forged cursor', async () => {
    const server = await serverOn(await place());
    const nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Amina')]);
    const { cursor } = await pullAll(server, nurse);
    const parts = cursor.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[3]).toBe((await server.app.outpost.store.epoch()).id);
    const otherEpoch = randomBytes(16).toString('base64url');
    for (const tampered of [
      [...parts.slice(0, 3), otherEpoch, parts[4]].join('.'),
      // A cursor without its epoch is no older cursor either: its MAC is the new form's.
      [...parts.slice(0, 3), parts[4]].join('.'),
    ]) {
      const res = await pullWith(server, nurse, tampered);
      expect(res.status, tampered).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'cursor' } });
    }
    // Another clinic's cursor, of this very epoch, fails the MAC too.
    const other = await pullWith(server, await server.token('nurse@clinic-b.test'), cursor);
    expect(other.status).toBe(400);
  });

  it('goes on from cursors issued before they carried an epoch; one ahead of the clinic is 410 restored', async () => {
    const server = await serverOn(await place());
    const nurse = await server.token('nurse@clinic-a.test');
    const [amina] = (await push(server, nurse, [patient('Amina')])).results;
    await push(server, nurse, [patient('Joseph')]);
    // As servers issued them: the bytes are the old code's.
    expect(olderCursor('clinic-a', 1, 0)).toBe('1.0.if8u4aUnO04LBURn0qnoug');
    expect(olderCursor('clinic-a', 1, 0, ['patients', 'encounters'])).toBe(
      '1.0.ZW5jb3VudGVycyxwYXRpZW50cw.pYt8PXM5YdFZVF13KmhCpw',
    );
    for (const older of [
      olderCursor('clinic-a', 1, 0),
      olderCursor('clinic-a', 1, 0, ['patients', 'encounters']),
    ]) {
      const page = await pull(server, nurse, { cursor: older });
      expect(names(page.changes), older).toEqual(['Joseph']);
      expect(page.changes.map((c) => c.id)).not.toContain(amina?.id);
      // What it answers with is a cursor of today's form, with this database's epoch.
      expect(page.cursor.split('.')[3]).toBe((await server.app.outpost.store.epoch()).id);
    }
    // Ahead of the clinic's last position (2): no pull of this database issued it.
    const ahead = await pullWith(server, nurse, olderCursor('clinic-a', 9, 0));
    expect(ahead.status, JSON.stringify(ahead.body)).toBe(410);
    expect(ahead.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
  });
});
