// A clinic's backup of its SQLite database (decision 0049; docs/server.md, "Backups and restore"):
// taken while the server takes pushes, whole, holding every op acknowledged before it and the
// files; refused without writing anything when it cannot be right; and what a device that synced
// after the backup meets on a server restored from it.
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { Change, ErrorBody, PushResponse } from '@outpost/core';
import { BackupRefusedError, backupSqlite } from '../src/storage/sqlite-backup';
import type { BackupRefusal } from '../src/storage/sqlite-backup';
import { readBackup } from './backup-places';
import { sqliteStorageIn, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { opId, pullAll, push } from './sync-client';

const patient = (name: string) => ({
  opId: opId(),
  collection: 'patients',
  type: 'create' as const,
  id: uuidv7(),
  data: { name },
});
const update = (id: string, data: Record<string, unknown>) => ({
  opId: opId(),
  collection: 'patients',
  type: 'update' as const,
  id,
  data,
});
const keyOf = (c: Pick<Change, 'collection' | 'id'>) => `${c.collection}/${c.id}`;
const names = (changes: readonly Change[]) => changes.map((c) => String(c.data?.['name'])).sort();
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('a backup of the SQLite database', () => {
  const folders: string[] = [];
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
  });

  function folder(): string {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-backup-'));
    folders.push(dir);
    return dir;
  }

  /** A server over `<dir>/outpost.sqlite`, as `npm start` with OUTPOST_DATA=dir. */
  async function serverIn(dir: string): Promise<TestServer> {
    const server = await startTestServer('sqlite', { storage: sqliteStorageIn(dir) });
    servers.push(server);
    return server;
  }

  async function stop(server: TestServer): Promise<void> {
    servers.splice(servers.indexOf(server), 1);
    await server.close();
  }

  /** Restored as docs/server.md says: the backup put in a data folder as outpost.sqlite, a server started on it. */
  async function restoredFrom(backup: string): Promise<TestServer> {
    const dir = folder();
    copyFileSync(backup, join(dir, 'outpost.sqlite'));
    return serverIn(dir);
  }

  it('taken while pushes are in flight: whole, opened by a new server, with each op acknowledged before it once and the records as answered then', async () => {
    const data = folder();
    const live = await serverIn(data);
    const nurse = await live.token('nurse@clinic-a.test');
    // Enough of a clinic that the copy is more than a few pages.
    const acknowledged: PushResponse[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const ops = Array.from({ length: 200 }, (_, i) => patient(`Patient ${batch}-${i}`));
      acknowledged.push(await push(live, nurse, ops));
    }
    const amina = acknowledged[0]?.results[0]?.id ?? '';
    const edit = await push(live, nurse, [update(amina, { village: 'Mzuzu' })]);
    acknowledged.push(edit);
    const answeredThen = await pullAll(live, nurse, { limit: 1000 });

    // Devices that keep pushing while the backup is taken, new patients and edits of one, several
    // pushes at a time, so the copy is taken between, and during, the server's transactions.
    type Sent = {
      ops: Array<ReturnType<typeof patient> | ReturnType<typeof update>>;
      response: PushResponse;
    };
    const during: Sent[] = [];
    let backingUp = true;
    const device = async (n: number) => {
      for (let round = 0; backingUp; round++) {
        const ops =
          n % 2 === 0
            ? Array.from({ length: 50 }, (_, j) => patient(`During ${n}-${round}-${j}`))
            : [update(amina, { phone: `+265 99 ${n} ${round}` })];
        during.push({ ops, response: await push(live, nurse, ops, { deviceId: `tablet-${n}` }) });
      }
    };
    const devices = Promise.all([0, 1, 2, 3].map(device));
    const target = join(folder(), 'clinic-backup.sqlite');
    const backup = await backupSqlite({ database: join(data, 'outpost.sqlite'), destination: target });
    backingUp = false;
    await devices;

    expect(backup.file).toBe(target);
    expect(backup.records).toBeGreaterThanOrEqual(1200);
    expect(backup.migration).toMatch(/^\d{4}_/);
    // One file, nothing beside it: no -wal, no -shm, no temporary name left.
    expect(readdirSync(join(target, '..'))).toEqual(['clinic-backup.sqlite']);
    // Patient data: for the account that made it only.
    if (process.platform !== 'win32') expect(statSync(target).mode & 0o777).toBe(0o600);

    // SQLite's own check, on a connection of the test's, and the journal as the copy holds it.
    const check = new BetterSqlite3(target, { readonly: true, fileMustExist: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    const rows = check.prepare('select op_id, count(*) as n from ops group by op_id').all() as Array<{
      op_id: string;
      n: number;
    }>;
    check.close();
    const journal = new Map(rows.map((r) => [r.op_id, r.n]));
    // Every op acknowledged before the backup began is in its journal, once.
    const ackedIds = acknowledged.flatMap((r) => r.results.map((x) => x.opId));
    expect(ackedIds.filter((id) => journal.get(id) !== 1)).toEqual([]);
    // A push in flight is in the copy whole or not at all: the copy is one moment of the database.
    const held = during.map(({ ops }) => ops.filter((o) => journal.has(o.opId)).length);
    for (const [i, { ops }] of during.entries()) expect([0, ops.length]).toContain(held[i]);
    // Pushes went on past the moment of the copy: it is not the database as the devices left it.
    expect(held.filter((n) => n === 0).length).toBeGreaterThan(0);

    // A new server opens the copy (its migrations run at start) and answers as the live one did.
    const back = await restoredFrom(target);
    const nurseBack = await back.token('nurse@clinic-a.test');
    const now = new Map((await pullAll(back, nurseBack, { limit: 1000 })).changes.map((c) => [keyOf(c), c]));
    for (const change of answeredThen.changes.filter((c) => c.id !== amina)) {
      expect(now.get(keyOf(change))).toEqual(change);
    }
    // The record the in-flight pushes edited: as answered then, plus the edits the copy holds.
    const editsHeld = during.filter(
      ({ ops }) => ops[0]?.type === 'update' && journal.has(ops[0].opId),
    ).length;
    const then = answeredThen.changes.find((c) => c.id === amina);
    expect(now.get(`patients/${amina}`)).toMatchObject({
      version: (then?.version ?? 0) + editsHeld,
      data: { name: 'Patient 0-0', village: 'Mzuzu' },
    });
    // Sent again (an answer a device never got), an acknowledged op is known, not applied twice.
    const resent = await push(back, nurseBack, [
      { ...update(amina, { village: 'Mzuzu' }), opId: edit.results[0]?.opId ?? '' },
    ]);
    expect(resent.results[0]?.status).toBe('duplicate');
  });

  it('holds the files attached to records, which a server on the restored copy gives back byte for byte', async () => {
    const data = folder();
    const live = await serverIn(data);
    const nurse = await live.token('nurse@clinic-a.test');
    const [amina] = (await push(live, nurse, [patient('Amina')])).results;
    const photo = randomBytes(3 * 1024 + 321);
    const fileId = uuidv7();
    const declared = await live.request({
      method: 'PUT',
      url: `/v1/files/${fileId}`,
      token: nurse,
      body: {
        collection: 'patients',
        recordId: amina?.id,
        name: 'Amina left heel.jpg',
        contentType: 'image/jpeg',
        size: photo.length,
        sha256: sha256(photo),
        chunkSize: 1024,
        deviceId: 'tablet-1',
      },
    });
    expect(declared.status).toBe(200);
    for (let index = 0; index < 4; index++) {
      const chunk = photo.subarray(index * 1024, (index + 1) * 1024);
      const sent = await live.app.inject({
        method: 'PUT',
        url: `/v1/files/${fileId}/chunks/${index}`,
        headers: {
          authorization: `Bearer ${nurse}`,
          'content-type': 'application/octet-stream',
          'x-outpost-sha256': sha256(chunk),
        },
        payload: Buffer.from(chunk),
      });
      expect(sent.statusCode).toBe(200);
    }

    const target = join(folder(), 'with-photo.sqlite');
    const backup = await backupSqlite({ database: join(data, 'outpost.sqlite'), destination: target });
    expect(backup).toMatchObject({ files: 1, fileBytes: photo.length, records: 1 });

    const back = await restoredFrom(target);
    const nurseBack = await back.token('nurse@clinic-a.test');
    const got = await back.app.inject({
      method: 'GET',
      url: `/v1/files/${fileId}/content`,
      headers: { authorization: `Bearer ${nurseBack}` },
    });
    expect(got.statusCode).toBe(200);
    expect(Buffer.compare(got.rawPayload, photo)).toBe(0);
    expect(got.headers['x-outpost-sha256']).toBe(sha256(photo));
  });

  describe('refuses, and writes nothing', () => {
    async function refusal(options: Parameters<typeof backupSqlite>[0]): Promise<BackupRefusal | undefined> {
      const err = await backupSqlite(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackupRefusedError);
      return (err as BackupRefusedError).code;
    }

    it('an existing file without force (and replaces it with force)', async () => {
      const data = folder();
      const live = await serverIn(data);
      await push(live, await live.token('nurse@clinic-a.test'), [patient('Amina')]);
      const out = folder();
      const target = join(out, 'monday.sqlite');
      writeFileSync(target, 'last week’s backup');
      const database = join(data, 'outpost.sqlite');
      expect(await refusal({ database, destination: target })).toBe('DESTINATION_EXISTS');
      expect(readFileSync(target, 'utf8')).toBe('last week’s backup');
      expect(readdirSync(out)).toEqual(['monday.sqlite']);

      expect((await backupSqlite({ database, destination: target, force: true })).records).toBe(1);
      expect(readdirSync(out)).toEqual(['monday.sqlite']);
    });

    it('no database, a file that is not an Outpost database, a folder that does not exist, or the database itself', async () => {
      const data = folder();
      const out = folder();
      expect(
        await refusal({ database: join(data, 'outpost.sqlite'), destination: join(out, 'b.sqlite') }),
      ).toBe('NO_DATABASE');
      writeFileSync(
        join(data, 'notes.txt'),
        'not a database at all, but long enough to be read as one '.repeat(20),
      );
      expect(await refusal({ database: join(data, 'notes.txt'), destination: join(out, 'b.sqlite') })).toBe(
        'NOT_AN_OUTPOST_DATABASE',
      );
      expect(readdirSync(out)).toEqual([]);

      const live = await serverIn(data);
      await push(live, await live.token('nurse@clinic-a.test'), [patient('Amina')]);
      const database = join(data, 'outpost.sqlite');
      expect(await refusal({ database, destination: join(out, 'usb-stick', 'b.sqlite') })).toBe(
        'NO_DESTINATION_FOLDER',
      );
      expect(await refusal({ database, destination: database, force: true })).toBe(
        'DESTINATION_IS_THE_DATABASE',
      );
      expect(readdirSync(out)).toEqual([]);
      expect(readdirSync(data).filter((f) => f.includes('incomplete'))).toEqual([]);
    });
  });

  describe('restored, for a device that pulled after the backup', () => {
    it('answers its next pull 410 CURSOR_EXPIRED, and the re-read from the start brings every record the restored database holds', async () => {
      const data = folder();
      const live = await serverIn(data);
      const nurse = await live.token('nurse@clinic-a.test');
      await push(live, nurse, [patient('Amina'), patient('Joseph')]);
      const target = join(folder(), 'backup.sqlite');
      await backupSqlite({ database: join(data, 'outpost.sqlite'), destination: target });

      // After the backup: a patient registered and an edit, both acknowledged; the tablet pulls them.
      const [grace] = (await push(live, nurse, [patient('Grace')])).results;
      const tablet = await pullAll(live, nurse);
      expect(names(tablet.changes)).toEqual(['Amina', 'Grace', 'Joseph']);
      await stop(live);

      const back = await restoredFrom(target);
      const nurseBack = await back.token('nurse@clinic-a.test');
      const next = await back.request<ErrorBody>({
        method: 'GET',
        url: `/v1/sync/pull?cursor=${tablet.cursor}`,
        token: nurseBack,
      });
      expect(next.status, JSON.stringify(next.body)).toBe(410);
      expect(next.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });

      const reread = await pullAll(back, nurseBack);
      const held = new BetterSqlite3(target, { readonly: true, fileMustExist: true });
      const inBackup = held
        .prepare("select id from records where tenant = 'clinic-a' and deleted = 0 order by id")
        .pluck()
        .all();
      held.close();
      expect(reread.changes.map((c) => c.id).sort()).toEqual(inBackup);
      expect(names(reread.changes)).toEqual(['Amina', 'Joseph']);
      // Grace was acknowledged after the backup: the restored server does not have her.
      const lost = await back.request({
        method: 'GET',
        url: `/v1/records/patients/${grace?.id}`,
        token: nurseBack,
      });
      expect(lost.status).toBe(404);
    });

    it('answers it 410 restored also once the restored clinic has made as many changes again before its next pull (decision 0050)', async () => {
      const data = folder();
      const live = await serverIn(data);
      const nurse = await live.token('nurse@clinic-a.test');
      await push(live, nurse, [patient('Amina'), patient('Joseph')]);
      const target = join(folder(), 'backup.sqlite');
      await backupSqlite({ database: join(data, 'outpost.sqlite'), destination: target });
      await push(live, nurse, [patient('Lost 1'), patient('Lost 2'), patient('Lost 3')]);
      const tablet = await pullAll(live, nurse);
      await stop(live);

      // Restored, and a colleague's device registers four patients before the tablet pulls again:
      // the clinic's positions pass the tablet's cursor. Its position looks current (a check of
      // positions alone let it read on, missing New 1 to New 3 and keeping the lost patients); the
      // epoch the backup gave the copy is not the one the cursor carries.
      const back = await restoredFrom(target);
      const colleague = await back.token('nurse@clinic-a.test');
      await push(back, colleague, [patient('New 1'), patient('New 2'), patient('New 3'), patient('New 4')], {
        deviceId: 'tablet-2',
      });
      const next = await back.request<ErrorBody>({
        method: 'GET',
        url: `/v1/sync/pull?cursor=${tablet.cursor}`,
        token: colleague,
      });
      expect(next.status, JSON.stringify(next.body)).toBe(410);
      expect(next.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
      expect(names((await pullAll(back, colleague)).changes)).toEqual([
        'Amina',
        'Joseph',
        'New 1',
        'New 2',
        'New 3',
        'New 4',
      ]);
    });
  });

  describe('the copy’s own epoch', () => {
    const epochOf = (file: string) =>
      readBackup(file, (db) => db.prepare('select epoch from database_epoch').pluck().all());

    it('is given to the copy only: a server on it refuses the live server’s cursors, those from before the backup too, and the live one takes them still', async () => {
      const data = folder();
      const live = await serverIn(data);
      const nurse = await live.token('nurse@clinic-a.test');
      await push(live, nurse, [patient('Amina'), patient('Joseph')]);
      // Pulled before the backup: the copy holds everything this cursor had read.
      const tablet = await pullAll(live, nurse);
      const database = join(data, 'outpost.sqlite');
      const liveEpoch = (await live.app.outpost.store.epoch()).id;
      const target = join(folder(), 'backup.sqlite');
      const startedAt = new Date().toISOString();
      const backup = await backupSqlite({ database, destination: target });
      const endedAt = new Date().toISOString();
      expect(backup.newEpoch).toBe(true);

      // One epoch in each; the live database's as it was, the copy's another.
      expect(epochOf(database)).toEqual([liveEpoch]);
      const [copyEpoch] = epochOf(target);
      expect(copyEpoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(copyEpoch).not.toBe(liveEpoch);
      expect((await pullAll(live, nurse, { cursor: tablet.cursor })).changes).toEqual([]);

      const back = await restoredFrom(target);
      const nurseBack = await back.token('nurse@clinic-a.test');
      expect((await back.app.outpost.store.epoch()).id).toBe(copyEpoch);
      const next = await back.request<ErrorBody>({
        method: 'GET',
        url: `/v1/sync/pull?cursor=${tablet.cursor}`,
        token: nurseBack,
      });
      expect(next.status, JSON.stringify(next.body)).toBe(410);
      expect(next.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
      // With when the backup was taken: the devices give back what they hold from after it.
      const takenAt = (next.body.error.details as { backupTakenAt: string }).backupTakenAt;
      expect(takenAt >= startedAt && takenAt <= endedAt, `${startedAt} ${takenAt} ${endedAt}`).toBe(true);
      // The live database was not restored: its epoch says nothing of a backup.
      expect((await live.app.outpost.store.epoch()).backupTakenAt).toBeNull();
      // Its own cursors it takes.
      const fresh = await pullAll(back, nurseBack);
      expect(names(fresh.changes)).toEqual(['Amina', 'Joseph']);
      expect((await pullAll(back, nurseBack, { cursor: fresh.cursor })).changes).toEqual([]);
    });
  });
});
