// `npm run mark-restored` as an operator runs it (packages/server/src/cli/mark-restored.ts), after a
// restore not made from `npm run backup`'s copy: it gives the database npm start would open (the
// data folder's SQLite file, or DATABASE_URL's PostgreSQL) a new epoch, so a server on it refuses
// the cursors of the database it replaced (decision 0050). And its refusals, each one line with
// exit code 1 and nothing written.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { ErrorBody } from '@outpost/core';
import { openPostgres, openSqlite } from '../src/index';
import { dialects, startTestServer } from './server-fixture';
import type { Storage, TestServer } from './server-fixture';
import { freshPostgresDatabase } from './postgres';
import { pullAll, push } from './sync-client';
import { runCommand } from './cli-command';

const runMarkRestored = (args: string[], env: Record<string, string>) =>
  runCommand('mark-restored', args, env);

const patient = (name: string) => ({
  collection: 'patients',
  type: 'create' as const,
  id: uuidv7(),
  data: { name },
});

describe('npm run mark-restored', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-mark-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  /** Where the command finds the database, as npm start would: OUTPOST_DATA, or DATABASE_URL. */
  async function database(
    kind: 'sqlite' | 'postgres',
  ): Promise<{ storage: Storage; env: Record<string, string> }> {
    if (kind === 'sqlite') {
      const dir = folder();
      const storage: Storage = {
        kind,
        open: () => openSqlite(join(dir, 'outpost.sqlite')),
        destroy: async () => undefined,
      };
      return { storage, env: { OUTPOST_DATA: dir } };
    }
    const pg = await freshPostgresDatabase();
    cleanups.push(() => pg.drop());
    return {
      storage: { kind, open: () => openPostgres(pg.url), destroy: async () => undefined },
      env: { DATABASE_URL: pg.url },
    };
  }

  it.each(dialects())(
    'gives the database of %s a new epoch: the cursors devices hold are refused 410 restored',
    async (kind) => {
      const { storage, env } = await database(kind);
      let server: TestServer = await startTestServer(kind, { storage });
      let nurse = await server.token('nurse@clinic-a.test');
      await push(server, nurse, [patient('Amina'), patient('Joseph')]);
      const tablet = await pullAll(server, nurse);
      const before = (await server.app.outpost.store.epoch()).id;
      await server.close();

      const { code, stdout, stderr } = await runMarkRestored([], env);
      expect(code, stderr).toBe(0);
      expect(stderr).toBe('');
      const lines = stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^Marked .* as restored: .*read everything again and give back what they hold newer than the server’s copy .*\. Start the server/,
      );
      // PostgreSQL is named without its user and password.
      expect(stdout).not.toContain('@');

      server = await startTestServer(kind, { storage });
      try {
        expect((await server.app.outpost.store.epoch()).id).not.toBe(before);
        nurse = await server.token('nurse@clinic-a.test');
        // Positions alone would let this cursor read on: the clinic is exactly where it was.
        const res = await server.request<ErrorBody>({
          method: 'GET',
          url: `/v1/sync/pull?cursor=${tablet.cursor}`,
          token: nurse,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(410);
        expect(res.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
      } finally {
        await server.close();
      }
    },
  );

  it('keeps the time the backup was taken, given with --backup-taken-at, and refuses a time it cannot read', async () => {
    const { storage, env } = await database('sqlite');
    let server: TestServer = await startTestServer('sqlite', { storage });
    let nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [patient('Amina')]);
    const tablet = await pullAll(server, nurse);
    const before = (await server.app.outpost.store.epoch()).id;
    await server.close();

    for (const bad of [
      ['--backup-taken-at'],
      ['--backup-taken-at', 'last monday'],
      ['--taken', '2026-06-01'],
    ]) {
      const refused = await runMarkRestored(bad, env);
      expect(refused.code, refused.stdout).toBe(2);
      expect(refused.stderr).toMatch(/Usage: npm run mark-restored/);
    }
    const future = await runMarkRestored(['--backup-taken-at', '2999-01-01T00:00:00Z'], env);
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/in the future/);

    const { code, stdout, stderr } = await runMarkRestored(['--backup-taken-at', '2026-06-01T18:00Z'], env);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/give back what they hold from after 2026-06-01T18:00:00\.000Z/);

    server = await startTestServer('sqlite', { storage });
    try {
      expect((await server.app.outpost.store.epoch()).id).not.toBe(before);
      nurse = await server.token('nurse@clinic-a.test');
      const res = await server.request<ErrorBody>({
        method: 'GET',
        url: `/v1/sync/pull?cursor=${tablet.cursor}`,
        token: nurse,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(410);
      expect(res.body.error.details).toEqual({
        reason: 'restored',
        backupTakenAt: '2026-06-01T18:00:00.000Z',
        lastIds: {},
      });
    } finally {
      await server.close();
    }
  });

  it('has nothing to mark in a database from before the epoch, which the server gives one at its start', async () => {
    const { storage, env } = await database('sqlite');
    const first = await startTestServer('sqlite', { storage });
    const before = (await first.app.outpost.store.epoch()).id;
    await first.close();
    // As a database of an older Outpost: no epoch, its migration not run.
    const file = join(env['OUTPOST_DATA'] ?? '', 'outpost.sqlite');
    const db = new BetterSqlite3(file);
    // Its later migrations (0023, the hub's restore marks; 0025, the numbers given back; 0026, the
    // records keys; 0027, the devices' names) not run either.
    db.exec(
      [
        'drop table database_epoch',
        'drop table restored_numbers',
        'alter table hub_state drop column resync_restored',
        'alter table hub_state drop column resync_backup_taken_at',
        'alter table hub_records drop column upstream_updated_at',
        'alter table users drop column records_key',
        'drop table device_names',
        'drop table devices_out_of_use',
        "delete from outpost_migrations where name >= '0022'",
      ].join('; '),
    );
    db.close();

    const { code, stdout, stderr } = await runMarkRestored([], env);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toMatch(/^Nothing to mark: .* the server gives it one when it starts/);

    const server = await startTestServer('sqlite', { storage });
    try {
      const epoch = (await server.app.outpost.store.epoch()).id;
      expect(epoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(epoch).not.toBe(before);
    } finally {
      await server.close();
    }
  });

  it('says so when there is no database in OUTPOST_DATA, and makes none', async () => {
    const data = folder();
    const { code, stdout, stderr } = await runMarkRestored([], { OUTPOST_DATA: data });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      `Not marked: there is no database at ${join(data, 'outpost.sqlite')}. Is the server's data elsewhere? Set OUTPOST_DATA to its data folder, as for npm start.`,
    ]);
    expect(readdirSync(data)).toEqual([]);
  });

  it('refuses a file that is not an Outpost database, and leaves it as it was', async () => {
    const data = folder();
    const file = join(data, 'outpost.sqlite');
    const text = 'not a database at all, but long enough to be read as one '.repeat(20);
    writeFileSync(file, text);
    const notADatabase = await runMarkRestored([], { OUTPOST_DATA: data });
    expect(notADatabase.code).toBe(1);
    expect(notADatabase.stderr.trim().split('\n')).toEqual([
      `Not marked: ${file} is not an Outpost server's database (it has no outpost_migrations table)`,
    ]);
    expect(readFileSync(file, 'utf8')).toBe(text);

    // Another program's SQLite database, named by DATABASE_URL.
    const other = join(data, 'inventory.sqlite');
    const db = new BetterSqlite3(other);
    db.exec('create table stock (item text)');
    db.close();
    const notOurs = await runMarkRestored([], { DATABASE_URL: other });
    expect(notOurs.code).toBe(1);
    expect(notOurs.stderr.trim()).toBe(
      `Not marked: ${other} is not an Outpost server's database (it has no outpost_migrations table)`,
    );
  });

  it.runIf(dialects().includes('postgres'))('refuses an empty PostgreSQL database', async () => {
    const pg = await freshPostgresDatabase();
    cleanups.push(() => pg.drop());
    const { code, stdout, stderr } = await runMarkRestored([], { DATABASE_URL: pg.url });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Not marked: postgres(ql)?:\/\/[^@]+ is not an Outpost server's database/);
  });

  it('says so when PostgreSQL cannot be reached, without the password', async () => {
    const { code, stdout, stderr } = await runMarkRestored([], {
      DATABASE_URL: 'postgres://clinic:secret@127.0.0.1:1/outpost',
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Not marked: could not reach postgres:\/\/127\.0\.0\.1:1\/outpost: /);
    expect(stderr).not.toContain('secret');
  });

  it('takes no argument but the backup’s time', async () => {
    const { code, stderr } = await runMarkRestored(['backup.sqlite'], { OUTPOST_DATA: folder() });
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: npm run mark-restored');
  });
});
