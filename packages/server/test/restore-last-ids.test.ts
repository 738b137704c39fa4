// The backup's last ids in the 410 of a restored server (decision 0050; docs/server.md, "Backups
// and restore"). A restored server numbers its server-id collections (the vet practice's) from
// where the backup left off, so it hands out again the numbers the lost database issued after the
// backup. Every 410 `reason: 'restored'` says, for the caller's clinic only, the last number of each
// such collection the backup had issued (`details.lastIds`): what `npm run backup`'s copy had, or
// the counters of a database `npm run mark-restored` marked. A database marked before it had a
// place for them (migration 0024) says none.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempId } from '@outpost/core';
import type { ErrorBody, PushResponse } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { markRestored, openSqlite } from '../src/index';
import { backupSqlite } from '../src/storage/sqlite-backup';
import { parseLastIds } from '../src/storage/backup-last-ids';
import { restoredDetails } from '../src/http/cursor';
import { dialects, startTestServer } from './server-fixture';
import type { DialectName, Storage, TestServer } from './server-fixture';
import { restoreHarness } from './restore-places';
import type { Place } from './restore-places';
import { pullAll, push } from './sync-client';

const owner = (name: string, id = makeTempId('users')) => ({
  collection: 'users',
  type: 'create' as const,
  id,
  data: { name, role: 'CLIENT' },
});
const pet = (name: string, ownerId: string, id = makeTempId('pets')) => ({
  collection: 'pets',
  type: 'create' as const,
  id,
  data: { name, species: 'dog', ownerId },
});
const appointment = (petId: string, id = makeTempId('appointments')) => ({
  collection: 'appointments',
  type: 'create' as const,
  id,
  data: { date: '2026-11-22T09:00:00Z', petId, title: 'Checkup' },
});
const note = (appointmentId: string) => ({
  collection: 'soapNotes',
  type: 'create' as const,
  id: makeTempId('soapNotes'),
  data: { appointmentId, subjective: 'Limping' },
});
/** The server's ids of a push's results, in order. */
const idsOf = (res: PushResponse) => res.results.map((r) => r.id);

/**
 * A vet practice's first day: three owners, two pets and an appointment, pushed together (the
 * temp ids name one another), numbered 1, 2, 3 / 1, 2 / 1.
 */
async function firstDay(server: TestServer, token: string): Promise<void> {
  const [ruth, peter, simba, kuku] = ['users', 'users', 'pets', 'pets'].map((c) => makeTempId(c));
  const res = await push(server, token, [
    owner('Ruth Banda', ruth),
    owner('Peter Phiri', peter),
    owner('Grace Mwale'),
    pet('Simba', ruth ?? '', simba),
    pet('Kuku', peter ?? '', kuku),
    appointment(simba ?? ''),
  ]);
  expect(res.results.map((r) => r.status)).toEqual(Array(6).fill('applied'));
  expect(idsOf(res)).toEqual(['1', '2', '3', '1', '2', '1']);
}

const pullWith = (server: TestServer, token: string, cursor: string) =>
  server.request<ErrorBody>({
    method: 'GET',
    url: `/v1/sync/pull?cursor=${encodeURIComponent(cursor)}`,
    token,
  });

describe('the details of a 410 restored', () => {
  it('name the caller’s clinic’s last ids only: {} for a clinic the backup had issued none, none when not known', () => {
    const known = {
      id: 'e',
      backupTakenAt: null,
      backupLastIds: parseLastIds('{"vet-a":{"pets":"2","users":"3"},"vet-b":{"users":"9"}}'),
    };
    expect(restoredDetails(known, 'vet-a')).toEqual({
      reason: 'restored',
      lastIds: { pets: '2', users: '3' },
    });
    expect(restoredDetails(known, 'clinic-a')).toEqual({ reason: 'restored', lastIds: {} });
    // A clinic named like a property of every object is a clinic like any other.
    expect(restoredDetails(known, 'toString')).toEqual({ reason: 'restored', lastIds: {} });
    expect(restoredDetails({ ...known, backupLastIds: null }, 'vet-a')).toEqual({ reason: 'restored' });
    // A row edited by hand into something else says nothing of ids, rather than failing every pull.
    for (const text of [
      'not json',
      '[]',
      '{"vet-a":{"users":3}}',
      '{"vet-a":"3"}',
      '{"vet-a":{"users":"-1"}}',
    ])
      expect(parseLastIds(text), text).toBeNull();
  });
});

describe('the backup’s last ids in `npm run backup`’s copy', () => {
  const folders: string[] = [];
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
  });

  function folder(): string {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-last-ids-'));
    folders.push(dir);
    return dir;
  }

  /** A vet practice's server over `<dir>/outpost.sqlite`, as `npm start` with OUTPOST_DATA=dir. */
  async function serverIn(dir: string): Promise<TestServer> {
    const storage: Storage = {
      kind: 'sqlite',
      open: () => openSqlite(join(dir, 'outpost.sqlite')),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
    const server = await startTestServer('sqlite', { storage, schema: vetPractice });
    servers.push(server);
    return server;
  }

  it('a server restored from it tells each clinic the numbers the backup had issued, per collection, its own only', async () => {
    const data = folder();
    const live = await serverIn(data);
    const vet = await live.token('vet@vet-a.test');
    const otherClinic = await live.token('nurse@clinic-b.test');
    await firstDay(live, vet);
    expect(idsOf(await push(live, otherClinic, [owner('Chikondi')]))).toEqual(['1']);
    const beforeBackup = await pullAll(live, vet);

    const backup = await backupSqlite({
      database: join(data, 'outpost.sqlite'),
      destination: join(folder(), 'practice.sqlite'),
    });

    // After the backup: the live server numbers on; the backup never hears of these.
    const [lost] = idsOf(await push(live, vet, [owner('Lost owner'), owner('Lost owner 2')]));
    expect(lost).toBe('4');
    expect(idsOf(await push(live, vet, [pet('Lost pet', '1'), note('1')]))).toEqual(['3', '1']);
    expect(idsOf(await push(live, otherClinic, [owner('Lost in clinic-b')]))).toEqual(['2']);
    const tablet = await pullAll(live, vet, { cursor: beforeBackup.cursor });
    const otherTablet = await pullAll(live, otherClinic);
    const emptyTablet = await pullAll(live, await live.token('nurse@clinic-a.test'));
    await live.close();
    servers.splice(servers.indexOf(live), 1);

    // Restored as docs/server.md says: the backup put in a data folder as outpost.sqlite.
    const dir = folder();
    copyFileSync(backup.file, join(dir, 'outpost.sqlite'));
    const restored = await serverIn(dir);
    const vetAgain = await restored.token('vet@vet-a.test');
    for (const cursor of [tablet.cursor, beforeBackup.cursor]) {
      const refused = await pullWith(restored, vetAgain, cursor);
      expect(refused.status, JSON.stringify(refused.body)).toBe(410);
      expect(refused.body.error).toMatchObject({ code: 'CURSOR_EXPIRED' });
      // The soap note came after the backup: the backup had numbered none.
      expect(refused.body.error.details).toEqual({
        reason: 'restored',
        backupTakenAt: expect.any(String),
        lastIds: { users: '3', pets: '2', appointments: '1' },
      });
    }
    const other = await pullWith(restored, await restored.token('nurse@clinic-b.test'), otherTablet.cursor);
    expect(other.status).toBe(410);
    expect(other.body.error.details).toMatchObject({ reason: 'restored', lastIds: { users: '1' } });
    expect(Object.keys((other.body.error.details as { lastIds: object }).lastIds)).toEqual(['users']);
    const empty = await pullWith(restored, await restored.token('nurse@clinic-a.test'), emptyTablet.cursor);
    expect(empty.status).toBe(410);
    expect(empty.body.error.details).toMatchObject({ reason: 'restored', lastIds: {} });

    // Why a device needs them: the restored server gives the lost owner's number to another.
    expect(idsOf(await push(restored, vetAgain, [owner('Someone else')]))).toEqual([lost]);
  });
});

describe.each(dialects())(
  'the backup’s last ids of a database marked restored, on %s',
  (kind: DialectName) => {
    const { place, copyOf, serverOn, stop, cleanUp } = restoreHarness(kind, vetPractice);
    afterEach(cleanUp);

    /** Runs SQL on a stopped server's database, as an operator's tool would. */
    async function onDatabase(at: Place, statements: readonly string[]): Promise<void> {
      if (kind === 'sqlite') {
        const db = new BetterSqlite3(at.target);
        try {
          for (const s of statements) db.exec(s);
        } finally {
          db.close();
        }
        return;
      }
      const client = new Client({ connectionString: at.target });
      await client.connect();
      try {
        for (const s of statements) await client.query(s);
      } finally {
        await client.end();
      }
    }

    it('are the counters the database holds when marked, in every 410 restored: v1, SmartDMV and WatermelonDB', async () => {
      const live = await place();
      let server = await serverOn(live);
      const vet = await server.token('vet@vet-a.test');
      await firstDay(server, vet);
      await push(server, await server.token('nurse@clinic-b.test'), [owner('Chikondi')]);
      await stop(server);
      // The backup, restored another way than from `npm run backup`'s copy (a dump, a snapshot).
      const backup = await copyOf(live);

      server = await serverOn(live);
      let token = await server.token('vet@vet-a.test');
      await push(server, token, [owner('Lost owner'), pet('Lost pet', '2')]);
      const tablet = await pullAll(server, token);
      const page = await server.request<{ nextTimestamp: string | null; timestamp: string }>({
        method: 'GET',
        url: '/api/sync/pull?lastSyncTimestamp=',
        token,
      });
      const syncPoint = page.body.nextTimestamp ?? page.body.timestamp;
      await stop(server);

      expect((await markRestored(backup.target)).epoch).not.toBeNull();
      server = await serverOn(backup);
      token = await server.token('vet@vet-a.test');
      const lastIds = { users: '3', pets: '2', appointments: '1' };
      const v1 = await pullWith(server, token, tablet.cursor);
      expect(v1.status, JSON.stringify(v1.body)).toBe(410);
      // No time given to mark-restored: the ids alone.
      expect(v1.body.error.details).toEqual({ reason: 'restored', lastIds });
      const smartDmv = await server.request<ErrorBody>({
        method: 'GET',
        url: `/api/sync/pull?lastSyncTimestamp=${encodeURIComponent(syncPoint)}`,
        token,
      });
      expect(smartDmv.status, JSON.stringify(smartDmv.body)).toBe(410);
      expect(smartDmv.body.error.details).toEqual({ reason: 'restored', lastIds });
      // A WatermelonDB lastPulledAt ahead of the restored practice (position 999, no scope tag).
      const watermelon = await server.request<ErrorBody>({
        method: 'GET',
        url: `/watermelon/sync/pull?last_pulled_at=${1000 * 4096}&schema_version=1&migration=null`,
        token,
      });
      expect(watermelon.status, JSON.stringify(watermelon.body)).toBe(410);
      expect(watermelon.body.error.details).toEqual({ reason: 'restored', lastIds });
      // Kept as the column says, every clinic's, each answered its own.
      const row = await server.app.outpost.store.db
        .selectFrom('database_epoch')
        .select(['backup_last_ids', 'made_by'])
        .executeTakeFirstOrThrow();
      expect(row.made_by).toBe('mark-restored');
      expect(JSON.parse(row.backup_last_ids ?? 'null')).toEqual({
        'clinic-b': { users: '1' },
        'vet-a': lastIds,
      });
    });

    it('are not known in a database from before migration 0024: marked without them, its 410s say none', async () => {
      const old = await place();
      let server = await serverOn(old);
      let token = await server.token('vet@vet-a.test');
      await firstDay(server, token);
      const tablet = await pullAll(server, token);
      await stop(server);
      // As a database of the Outpost before this one: the epoch's row without the column (and
      // without the later migrations' table of numbers given back, records keys and devices' names).
      await onDatabase(old, [
        'alter table database_epoch drop column backup_last_ids',
        'drop table restored_numbers',
        'alter table users drop column records_key',
        'drop table device_names',
        'drop table devices_out_of_use',
        "delete from outpost_migrations where name >= '0024'",
      ]);

      expect((await markRestored(old.target)).epoch).not.toBeNull();
      // The server's start runs the migration: the column comes, empty, as nobody can know them now.
      server = await serverOn(old);
      expect((await server.app.outpost.store.epoch()).backupLastIds).toBeNull();
      token = await server.token('vet@vet-a.test');
      const refused = await pullWith(server, token, tablet.cursor);
      expect(refused.status, JSON.stringify(refused.body)).toBe(410);
      expect(refused.body.error.details).toEqual({ reason: 'restored' });
    });

    it('are none in a database never restored: a lastPulledAt ahead of it is refused 410 restored without them', async () => {
      const server = await serverOn(await place());
      const token = await server.token('vet@vet-a.test');
      await firstDay(server, token);
      expect((await server.app.outpost.store.epoch()).backupLastIds).toBeNull();
      const refused = await server.request<ErrorBody>({
        method: 'GET',
        url: `/watermelon/sync/pull?last_pulled_at=${1000 * 4096}&schema_version=1&migration=null`,
        token,
      });
      expect(refused.status).toBe(410);
      expect(refused.body.error.details).toEqual({ reason: 'restored' });
    });
  },
);
