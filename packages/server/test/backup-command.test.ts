// `npm run backup -- <file>` as an operator runs it (packages/server/src/cli/backup.ts), as a child
// process beside a server that goes on taking pushes; and its refusals, each a non-zero exit with
// one line saying why, and nothing written.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { PushResponse } from '@outpost/core';
import { openSqlite } from '../src/index';
import { startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
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
  const folders: string[] = [];
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
  });
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-backup-cli-'));
    folders.push(dir);
    return dir;
  };
  async function serverIn(dir: string): Promise<TestServer> {
    const server = await startTestServer('sqlite', {
      storage: {
        kind: 'sqlite',
        open: () => openSqlite(join(dir, 'outpost.sqlite')),
        destroy: async () => rmSync(dir, { recursive: true, force: true }),
      },
    });
    servers.push(server);
    return server;
  }

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
