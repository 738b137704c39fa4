// `npm run backup -- <file>` as an operator runs it (packages/server/src/cli/backup.ts), as a child
// process beside a server that goes on taking pushes; and its refusals, each a non-zero exit with
// one line saying why, and nothing written.
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { PushResponse } from '@outpost/core';
import { backupSqlite } from '../src/index';
import { backupPlaces } from './backup-places';
import { push } from './sync-client';
import { runCommand } from './cli-command';

const runBackup = (args: string[], env: Record<string, string>) => runCommand('backup', args, env);

const patients = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    collection: 'patients',
    type: 'create' as const,
    id: uuidv7(),
    data: { name: `Patient ${i}` },
  }));

describe('npm run backup', () => {
  const places = backupPlaces('outpost-backup-cli-');
  const { folder, serverIn } = places;
  afterEach(() => places.cleanUp());

  it('copies the database of OUTPOST_DATA while the server takes pushes, checks it and says what it holds', async () => {
    const data = folder();
    const live = await serverIn(data);
    const nurse = await live.token('nurse@clinic-a.test');
    const before: PushResponse[] = [];
    for (let i = 0; i < 3; i++) before.push(await push(live, nurse, patients(100)));

    const out = folder();
    const target = join(out, 'clinic.sqlite');
    const ran = runBackup([target], { OUTPOST_DATA: data });
    // The server goes on taking pushes from this process while the command copies from its own.
    let running = true;
    void ran.then(() => (running = false));
    let during = 0;
    while (running) {
      await push(live, nurse, patients(20));
      during += 1;
    }
    const { code, stdout, stderr } = await ran;
    expect(code, stderr).toBe(0);
    expect(during).toBeGreaterThan(0);
    expect(stdout).toContain(`to ${target}`);
    expect(stdout).toContain('integrity check of the copy answered "ok"');
    expect(stdout).toMatch(/It holds 1 clinic: [\d,]+ records .* [\d,]+ ops in the journal, 0 files/);
    expect(stdout).toMatch(/its last migration is \d{4}_\w+/);
    expect(stdout).toContain('To restore it: stop the server');
    expect(stdout).toContain('patient data');
    expect(stdout).toContain(
      'This copy has a restore mark of its own, with the time it was taken: restored, it sends every device that synced with this server back to read everything again, and to give back what it holds from after that time.',
    );
    expect(readdirSync(out)).toEqual(['clinic.sqlite']);

    const copy = new BetterSqlite3(target, { readonly: true, fileMustExist: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    const journal = new Set(copy.prepare('select op_id from ops').pluck().all());
    const copyEpoch = copy.prepare('select epoch from database_epoch').pluck().get();
    copy.close();
    // The copy's epoch is its own (decision 0050); the live database keeps its.
    expect(copyEpoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(copyEpoch).not.toBe((await live.app.outpost.store.epoch()).id);
    const acknowledged = before.flatMap((r) => r.results.map((x) => x.opId));
    expect(acknowledged.filter((id) => !journal.has(id))).toEqual([]);
  });

  it('refuses to replace a file without --force', async () => {
    const data = folder();
    const live = await serverIn(data);
    await push(live, await live.token('nurse@clinic-a.test'), patients(1));
    const out = folder();
    const target = join(out, 'monday.sqlite');
    writeFileSync(target, 'last week’s backup');

    const { code, stdout, stderr } = await runBackup([target], { OUTPOST_DATA: data });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      `Not backed up: ${target} already exists: choose another name, or add --force to replace it`,
    ]);
    expect(readFileSync(target, 'utf8')).toBe('last week’s backup');
    expect(readdirSync(out)).toEqual(['monday.sqlite']);
  });

  it('says so when there is no database in OUTPOST_DATA', async () => {
    const data = folder();
    const out = folder();
    const { code, stderr } = await runBackup([join(out, 'b.sqlite')], { OUTPOST_DATA: data });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Not backed up: there is no database at ${join(data, 'outpost.sqlite')}`);
    expect(readdirSync(out)).toEqual([]);
    expect(readdirSync(data)).toEqual([]);
  });

  it('leaves PostgreSQL to pg_dump, and says how', async () => {
    const out = folder();
    const { code, stderr } = await runBackup([join(out, 'b.sqlite')], {
      DATABASE_URL: 'postgres://clinic:secret@db.invalid/outpost',
    });
    expect(code).toBe(1);
    expect(stderr.split('\n')[0]).toMatch(/^Not backed up: DATABASE_URL names PostgreSQL/);
    expect(stderr).toContain('pg_dump --format=custom --file=outpost-backup.dump "$DATABASE_URL"');
    expect(stderr).toContain('pg_restore');
    expect(readdirSync(out)).toEqual([]);
  });

  it('asks where the backup should go when given no file', async () => {
    const { code, stderr } = await runBackup([], { OUTPOST_DATA: folder() });
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: npm run backup -- <backup file> [--force]');
  });
});

describe('npm run backup -- --check', () => {
  const places = backupPlaces('outpost-backup-check-');
  const { folder } = places;
  afterEach(() => places.cleanUp());
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  const check = (args: string[]) => runBackup(args, { OUTPOST_DATA: folder() });

  /** A backup of a clinic with 300 patients, and the data folder of the server it was taken from, stopped. */
  async function aBackup(): Promise<{ file: string; data: string }> {
    const data = folder();
    const server = await places.serverIn(data);
    await push(server, await server.token('nurse@clinic-a.test'), patients(300));
    const file = join(folder(), 'monday.sqlite');
    await backupSqlite({ database: join(data, 'outpost.sqlite'), destination: file });
    await server.close();
    return { file, data };
  }

  it('says what a good backup holds, exit 0, and leaves the file as it was with nothing beside it', async () => {
    const { file } = await aBackup();
    const before = sha256(file);
    const { code, stdout, stderr } = await check(['--check', file]);
    expect(code, stderr).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      `Checked ${file} (${(statSync(file).size / 1024).toFixed(1)} KB).`,
      expect.stringMatching(
        /^SQLite's integrity check answered "ok"\. It holds 1 clinic: 300 records \(and 0 deleted ones, kept so devices hear of the deletion\), 300 ops in the journal, 0 files \(0\.0 KB\); its last migration is \d{4}_\w+\.$/,
      ),
    ]);
    expect(sha256(file)).toBe(before);
    expect(readdirSync(join(file, '..'))).toEqual(['monday.sqlite']);
  });

  it('checks a database copied by hand (in WAL mode) without leaving -wal or -shm beside it', async () => {
    const { data } = await aBackup();
    const copy = join(folder(), 'outpost.sqlite');
    copyFileSync(join(data, 'outpost.sqlite'), copy);
    const before = sha256(copy);
    const { code, stdout, stderr } = await check(['--check', copy]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('It holds 1 clinic: 300 records');
    expect(sha256(copy)).toBe(before);
    expect(readdirSync(join(copy, '..'))).toEqual(['outpost.sqlite']);
  });

  it('fails in one line, exit 1, for a damaged backup, a file that is no database, and no file', async () => {
    const { file } = await aBackup();
    // A stretch of the file overwritten, as a failing USB stick does.
    const damaged = join(folder(), 'damaged.sqlite');
    copyFileSync(file, damaged);
    const fd = openSync(damaged, 'r+');
    writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, Math.floor(statSync(damaged).size / 2 / 4096) * 4096);
    closeSync(fd);
    const before = sha256(damaged);
    const broken = await check(['--check', damaged]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^Not a good backup: ${damaged} failed SQLite's integrity check: .+`)),
    ]);
    expect(sha256(damaged)).toBe(before);
    expect(readdirSync(join(damaged, '..'))).toEqual(['damaged.sqlite']);

    const text = join(folder(), 'notes.txt');
    writeFileSync(text, 'Not a database at all, though long enough to have a header of sorts. '.repeat(20));
    const notDatabase = await check(['--check', text]);
    expect(notDatabase.code).toBe(1);
    expect(notDatabase.stderr.trim().split('\n')).toEqual([
      `Not a good backup: ${text} is not an Outpost server's database (it is not SQLite, or has no outpost_migrations table)`,
    ]);

    const missing = join(folder(), 'tuesday.sqlite');
    const none = await check(['--check', missing]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe(`Not a good backup: there is no file at ${missing}`);
  });

  it('asks which backup when given none, exit 2', async () => {
    const none = await check(['--check']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Which backup?');
    expect(none.stderr).toContain('npm run backup -- --check <backup file>');
    const withForce = await check(['--check', '--force', join(folder(), 'x.sqlite')]);
    expect(withForce.code).toBe(2);
  });
});
