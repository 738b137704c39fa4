// The database's epoch in the pull cursors (decision 0050; docs/server.md, "Backups and restore").
// Cursors issued before they carried an epoch keep working; a restart keeps the epoch; an epoch
// changed by hand fails the MAC (400).
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { Change, ErrorBody } from '@outpost/core';
import { openPostgres, openSqlite } from '../src/index';
import { isCursorText } from '../src/http/cursor';
import { dialects, startTestServer, testSecret } from './server-fixture';
import type { DialectName, Storage, TestServer } from './server-fixture';
import { freshPostgresDatabase } from './postgres';
import { pull, pullAll, push } from './sync-client';

const patient = (name: string) => ({
  collection: 'patients',
  type: 'create' as const,
  id: uuidv7(),
  data: { name },
});
const names = (changes: readonly Change[]) => changes.map((c) => String(c.data?.['name'])).sort();

/**
 * A cursor as servers issued them before cursors carried an epoch (the code of CursorCodec then):
 * `<position>.<horizon>.<mac>`, or with the collections it read, `<position>.<horizon>.<collections>.<mac>`.
 */
function olderCursor(tenant: string, position: number, horizon: number, collections?: string[]): string {
  const key = createHmac('sha256', testSecret).update('outpost pull cursor v1').digest();
  const sorted = collections ? [...collections].sort() : undefined;
  const scope = sorted ? `\u0000${sorted.join(',')}` : '';
  const mac = createHmac('sha256', key)
    .update(`${tenant}\u0000${position}\u0000${horizon}${scope}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
  return sorted
    ? `${position}.${horizon}.${Buffer.from(sorted.join(',')).toString('base64url')}.${mac}`
    : `${position}.${horizon}.${mac}`;
}

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

/** A database the test can copy and mark: its SQLite file, or its PostgreSQL URL. */
interface Place extends Storage {
  target: string;
}

describe.each(dialects())('the database’s epoch in pull cursors, on %s', (kind: DialectName) => {
  const cleanups: Array<() => Promise<void> | void> = [];
  const running = new Set<TestServer>();
  afterEach(async () => {
    for (const s of running) await s.close();
    running.clear();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function place(): Promise<Place> {
    if (kind === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'outpost-epoch-'));
      const file = join(dir, 'outpost.sqlite');
      const destroy = async () => rmSync(dir, { recursive: true, force: true });
      cleanups.push(destroy);
      return { kind, target: file, open: () => openSqlite(file), destroy };
    }
    const pg = await freshPostgresDatabase();
    cleanups.push(() => pg.drop());
    return { kind, target: pg.url, open: () => openPostgres(pg.url), destroy: () => pg.drop() };
  }

  async function serverOn(storage: Place): Promise<TestServer> {
    const server = await startTestServer(kind, { storage });
    running.add(server);
    return server;
  }

  async function stop(server: TestServer): Promise<void> {
    running.delete(server);
    await server.close();
  }

  const pullWith = (server: TestServer, token: string, cursor: string) =>
    server.request<ErrorBody>({
      method: 'GET',
      url: `/v1/sync/pull?cursor=${encodeURIComponent(cursor)}`,
      token,
    });

  it('keeps the epoch across a restart on the same database: the cursors issued before go on', async () => {
    const live = await place();
    let server = await serverOn(live);
    let nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Amina')]);
    const first = await pullAll(server, nurse);
    const epoch = await server.app.outpost.store.epoch();
    expect(epoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // The cursor carries it: <position>.<horizon>.<collections>.<epoch>.<mac>.
    expect(first.cursor.split('.')[3]).toBe(epoch);
    await stop(server);

    server = await serverOn(live);
    expect(await server.app.outpost.store.epoch()).toBe(epoch);
    nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Joseph')]);
    const next = await pullAll(server, nurse, { cursor: first.cursor });
    expect(names(next.changes)).toEqual(['Joseph']);
    expect(next.cursor.split('.')[3]).toBe(epoch);
  });

  it('makes a different epoch for each new database', async () => {
    const a = await serverOn(await place());
    const b = await serverOn(await place());
    expect(await a.app.outpost.store.epoch()).not.toBe(await b.app.outpost.store.epoch());
  });

  it('refuses with 400 a cursor whose epoch was changed, as it refuses any forged cursor', async () => {
    const server = await serverOn(await place());
    const nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Amina')]);
    const { cursor } = await pullAll(server, nurse);
    const parts = cursor.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[3]).toBe(await server.app.outpost.store.epoch());
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
      expect(page.cursor.split('.')[3]).toBe(await server.app.outpost.store.epoch());
    }
    // Ahead of the clinic's last position (2): no pull of this database issued it.
    const ahead = await pullWith(server, nurse, olderCursor('clinic-a', 9, 0));
    expect(ahead.status, JSON.stringify(ahead.body)).toBe(410);
    expect(ahead.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
  });
});
