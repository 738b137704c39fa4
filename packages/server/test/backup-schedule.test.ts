// The running server's scheduled backups of its SQLite database (storage/backup-schedule.ts,
// decision 0049): named by time, each a checked backup, the oldest of ours pruned beyond `keep`
// and nothing else, nothing pruned after a failure, stop() waiting for one under way, and the
// copy made off the server's thread so it goes on answering meanwhile.
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { openSqlite } from '../src/index';
import { decryptFile, isEncryptedBackup, newBackupKey } from '../src/storage/backup-encryption';
import { failureReason, scheduleBackups, scheduledBackupName } from '../src/storage/backup-schedule';
import type { BackupLog, BackupSchedule, BackupScheduleOptions } from '../src/storage/backup-schedule';
import { BackupRefusedError, backupSqlite, checkBackup } from '../src/storage/sqlite-backup';
import type { BackupResult } from '../src/storage/sqlite-backup';
import { backupPlaces, readBackup } from './backup-places';
import { push } from './sync-client';

const hour = 60 * 60 * 1000;

/** What the schedule logged, by level, as pino would have it. */
function memoryLog() {
  const lines: Array<{ level: 'info' | 'warn' | 'error'; details: object; message: string }> = [];
  const log: BackupLog = {
    info: (details, message) => lines.push({ level: 'info', details, message }),
    warn: (details, message) => lines.push({ level: 'warn', details, message }),
    error: (details, message) => lines.push({ level: 'error', details, message }),
  };
  return { log, lines };
}

/** A clock the test moves, for the files' names. */
function clock(start: string) {
  let t = new Date(start).getTime();
  return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
}

describe('scheduled backups', () => {
  const places = backupPlaces('outpost-schedule-');
  const { folder, serverIn } = places;
  const schedules: BackupSchedule[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    for (const s of schedules.splice(0)) await s.stop();
    await places.cleanUp();
  });
  function schedule(
    options: Partial<BackupScheduleOptions> & Pick<BackupScheduleOptions, 'database' | 'folder'>,
  ) {
    const s = scheduleBackups({
      everyMs: hour,
      keep: 14,
      log: memoryLog().log,
      firstDelayMs: hour,
      ...options,
    });
    schedules.push(s);
    return s;
  }
  const patient = (name: string) => ({
    collection: 'patients',
    type: 'create' as const,
    id: uuidv7(),
    data: { name },
  });
  const namesIn = (file: string): string[] =>
    readBackup(
      file,
      (db) =>
        db
          .prepare("select json_extract(data, '$.name') from records where collection = 'patients'")
          .pluck()
          .all() as string[],
    );

  it('writes outpost-<UTC time>.sqlite, each a checked backup holding what was pushed before it', async () => {
    const data = folder();
    const live = await serverIn(data);
    const nurse = await live.token('nurse@clinic-a.test');
    const out = folder();
    const time = clock('2026-11-24T15:30:00Z');
    const { log, lines } = memoryLog();
    const backups = schedule({ database: join(data, 'outpost.sqlite'), folder: out, now: time.now, log });

    await push(live, nurse, [patient('Amina Banda')]);
    const first = await backups.runNow();
    expect(first.ok).toBe(true);
    time.advance(hour);
    await push(live, nurse, [patient('Chikondi Phiri')]);
    expect((await backups.runNow()).ok).toBe(true);

    expect(readdirSync(out).sort()).toEqual([
      'outpost-2026-11-24T153000Z.sqlite',
      'outpost-2026-11-24T163000Z.sqlite',
    ]);
    const older = join(out, 'outpost-2026-11-24T153000Z.sqlite');
    const newer = join(out, 'outpost-2026-11-24T163000Z.sqlite');
    expect(checkBackup(older).records).toBeGreaterThan(0);
    expect(checkBackup(newer).records).toBeGreaterThan(0);
    expect(namesIn(older)).toContain('Amina Banda');
    expect(namesIn(older)).not.toContain('Chikondi Phiri');
    expect(namesIn(newer)).toEqual(expect.arrayContaining(['Amina Banda', 'Chikondi Phiri']));
    const written = lines.filter((l) => l.level === 'info');
    expect(written).toHaveLength(2);
    expect(written[1]?.message).toBe(`scheduled backup written: ${newer}`);
    expect(written[1]?.details).toMatchObject({ file: newer, kept: 2, deleted: [] });
    expect((written[1]?.details as { bytes: number }).bytes).toBeGreaterThan(0);
  });

  it('names a backup taken in the same second as the last by the next second, instead of failing on its name', async () => {
    const data = folder();
    const live = await serverIn(data);
    const nurse = await live.token('nurse@clinic-a.test');
    const out = folder();
    const backups = schedule({ database: join(data, 'outpost.sqlite'), folder: out });
    await push(live, nurse, [patient('Amina Banda')]);
    expect((await backups.runNow()).ok).toBe(true);
    await push(live, nurse, [patient('Chikondi Phiri')]);
    const again = await backups.runNow();
    expect(again.ok, again.ok ? '' : again.error.message).toBe(true);
    const [newer, older] = readdirSync(out).sort().reverse();
    expect(newer).not.toBe(older);
    expect(namesIn(join(out, newer ?? ''))).toEqual(
      expect.arrayContaining(['Amina Banda', 'Chikondi Phiri']),
    );
  });

  it('encrypts each to OUTPOST_BACKUP_RECIPIENTS on its thread, as .sqlite.age, the unencrypted ones before it pruned as they age out', async () => {
    const data = folder();
    const live = await serverIn(data);
    await push(live, await live.token('nurse@clinic-a.test'), [patient('Amina Banda')]);
    const out = folder();
    const time = clock('2026-11-24T15:30:00Z');
    const database = join(data, 'outpost.sqlite');
    // Two backups from before the clinic turned encryption on.
    const plain = schedule({ database, folder: out, now: time.now, keep: 2 });
    expect((await plain.runNow()).ok).toBe(true);
    time.advance(hour);
    expect((await plain.runNow()).ok).toBe(true);
    await plain.stop();

    const key = await newBackupKey();
    const encrypted = schedule({
      database,
      folder: out,
      now: time.now,
      keep: 2,
      recipients: [key.recipient],
    });
    time.advance(hour);
    const outcome = await encrypted.runNow();
    expect(outcome.ok, outcome.ok ? '' : outcome.error.message).toBe(true);
    expect(readdirSync(out).sort()).toEqual([
      'outpost-2026-11-24T163000Z.sqlite',
      'outpost-2026-11-24T173000Z.sqlite.age',
    ]);
    const file = join(out, 'outpost-2026-11-24T173000Z.sqlite.age');
    expect(isEncryptedBackup(file)).toBe(true);
    expect(readFileSync(file).includes('Amina Banda')).toBe(false);
    const opened = join(folder(), 'opened.sqlite');
    await decryptFile(file, opened, [key.identity]);
    expect(namesIn(opened)).toContain('Amina Banda');
    // No unencrypted copy left beside the database.
    expect(readdirSync(data).filter((f) => f.includes('incomplete'))).toEqual([]);
  });

  it('removes at its start what backups cut short left behind, unless their process still runs', async () => {
    const data = folder();
    await serverIn(data);
    const out = folder();
    // A process that has ended, as a server killed in the middle of a backup has.
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    const running = process.ppid;
    const leftovers = [
      join(out, `outpost-2026-11-24T153000Z.sqlite.${ended}.incomplete`),
      join(out, `outpost-2026-11-24T153000Z.sqlite.age.${ended}.incomplete`),
      join(data, `outpost.sqlite.backup-${ended}.incomplete`),
      join(data, `outpost.sqlite.backup-${ended}.incomplete-journal`),
    ];
    const kept = [
      // `npm run backup` still copying in another process.
      join(out, `outpost-2026-11-24T163000Z.sqlite.${running}.incomplete`),
      join(data, `outpost.sqlite.backup-${running}.incomplete`),
      // Not the schedule's names.
      join(out, `monday.sqlite.${ended}.incomplete`),
      join(data, `other.sqlite.backup-${ended}.incomplete`),
    ];
    for (const file of [...leftovers, ...kept]) writeFileSync(file, 'pages of a copy cut short');
    const { log, lines } = memoryLog();
    schedule({ database: join(data, 'outpost.sqlite'), folder: out, log });
    expect(leftovers.filter((f) => existsSync(f))).toEqual([]);
    expect(kept.filter((f) => !existsSync(f))).toEqual([]);
    expect(lines.filter((l) => l.message === 'removed what a backup cut short left behind')).toHaveLength(4);
  });

  it('keeps the newest `keep` of its own backups and never deletes another file in the folder', async () => {
    const data = folder();
    await serverIn(data);
    const out = folder();
    const others = [
      'clinic-before-upgrade.sqlite',
      'outpost-notes.txt',
      'outpost-2026-11-24.sqlite',
      'outpost-2026-11-24T153000Z.sqlite.bak',
    ];
    for (const name of others) writeFileSync(join(out, name), 'the operator’s own');
    const time = clock('2026-11-24T15:30:00Z');
    const backups = schedule({ database: join(data, 'outpost.sqlite'), folder: out, now: time.now, keep: 3 });
    const deleted: string[][] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await backups.runNow();
      if (!outcome.ok) throw outcome.error;
      deleted.push(outcome.deleted);
      time.advance(hour);
    }
    expect(readdirSync(out).sort()).toEqual(
      [
        ...others,
        'outpost-2026-11-24T173000Z.sqlite',
        'outpost-2026-11-24T183000Z.sqlite',
        'outpost-2026-11-24T193000Z.sqlite',
      ].sort(),
    );
    expect(deleted).toEqual([
      [],
      [],
      [],
      ['outpost-2026-11-24T153000Z.sqlite'],
      ['outpost-2026-11-24T163000Z.sqlite'],
    ]);
  });

  it('deletes nothing after a failed backup, logs each failure, and succeeds once the cause is gone', async () => {
    const data = folder();
    const database = join(data, 'outpost.sqlite');
    await (await openSqlite(database)).close();
    const out = folder();
    // Four good backups of ours, more than `keep`: a pruning after the failure would take two.
    const good = join(folder(), 'good.sqlite');
    await backupSqlite({ database, destination: good });
    const earlier = ['08', '09', '10', '11'].map((h) => `outpost-2026-11-24T${h}0000Z.sqlite`);
    for (const name of earlier) copyFileSync(good, join(out, name));
    const time = clock('2026-11-24T15:30:00Z');
    const { log, lines } = memoryLog();
    const backups = schedule({ database, folder: out, now: time.now, keep: 2, log });

    // The database is not where the schedule reads it (a data folder moved, a disk unmounted).
    renameSync(database, `${database}.moved`);
    for (let i = 0; i < 2; i++) {
      const failed = await backups.runNow();
      expect(failed.ok).toBe(false);
      time.advance(hour);
    }
    expect(readdirSync(out).sort()).toEqual(earlier);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]?.message).toMatch(
      /^scheduled backup failed, no backup deleted: there is no database at /,
    );
    expect(errors[0]?.details).toMatchObject({ code: 'NO_DATABASE' });

    renameSync(`${database}.moved`, database);
    const outcome = await backups.runNow();
    expect(outcome.ok).toBe(true);
    expect(readdirSync(out).sort()).toEqual([
      'outpost-2026-11-24T110000Z.sqlite',
      'outpost-2026-11-24T173000Z.sqlite',
    ]);
  });

  it('takes one backup at a time, and stop() waits for the one under way', async () => {
    const data = folder();
    await serverIn(data);
    const out = folder();
    const backups = schedule({ database: join(data, 'outpost.sqlite'), folder: out });
    let finished = false;
    const first = backups.runNow();
    void first.then(() => (finished = true));
    expect(backups.runNow()).toBe(first);
    await backups.stop();
    expect(finished).toBe(true);
    const files = readdirSync(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^outpost-\d{4}-\d{2}-\d{2}T\d{6}Z\.sqlite$/);
    expect(checkBackup(join(out, files[0] ?? '')).records).toBeGreaterThanOrEqual(0);
    await expect(backups.runNow()).rejects.toThrow('stopped');
  });

  describe('when the first backup is taken, and the next', () => {
    const fakeResult = (file: string): BackupResult => ({
      file,
      migration: 'x',
      tenants: 0,
      records: 0,
      deletedRecords: 0,
      ops: 0,
      files: 0,
      fileBytes: 0,
      bytes: 0,
      encrypted: false,
      newEpoch: true,
    });

    function fakeSchedule(out: string, fail = false) {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      vi.setSystemTime(new Date('2026-11-24T15:30:00Z'));
      const taken: string[] = [];
      const backup = vi.fn(async ({ destination }: { destination: string }) => {
        taken.push(new Date().toISOString());
        if (fail) throw new Error('disk full');
        return fakeResult(destination);
      });
      schedule({
        database: join(out, 'db.sqlite'),
        folder: out,
        everyMs: 6 * hour,
        firstDelayMs: 60_000,
        backup,
      });
      return taken;
    }

    it('soon after the start when the folder has none of ours, then every interval', async () => {
      const out = folder();
      writeFileSync(join(out, 'outpost-2026-11-24.sqlite'), 'not one of ours');
      const taken = fakeSchedule(out);
      await vi.advanceTimersByTimeAsync(59_000);
      expect(taken).toEqual([]);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(taken).toEqual(['2026-11-24T15:31:00.000Z']);
      await vi.advanceTimersByTimeAsync(12 * hour);
      expect(taken).toEqual([
        '2026-11-24T15:31:00.000Z',
        '2026-11-24T21:31:00.000Z',
        '2026-11-25T03:31:00.000Z',
      ]);
    });

    it('an interval after the newest of ours, so a restart does not take one each time', async () => {
      const out = folder();
      writeFileSync(join(out, scheduledBackupName(new Date('2026-11-24T13:00:00Z'))), '');
      writeFileSync(join(out, scheduledBackupName(new Date('2026-11-23T13:00:00Z'))), '');
      const taken = fakeSchedule(out);
      await vi.advanceTimersByTimeAsync(3 * hour + 29 * 60_000);
      expect(taken).toEqual([]);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(taken).toEqual(['2026-11-24T19:00:00.000Z']);
    });

    it('after a failure, again within the hour rather than a whole interval later', async () => {
      const out = folder();
      const taken = fakeSchedule(out, true);
      await vi.advanceTimersByTimeAsync(60_000 + 2 * hour);
      expect(taken).toEqual([
        '2026-11-24T15:31:00.000Z',
        '2026-11-24T16:31:00.000Z',
        '2026-11-24T17:31:00.000Z',
      ]);
    });
  });

  it('copies off the server’s thread: the server answers requests while a large database is backed up', async () => {
    const data = folder();
    const database = join(data, 'outpost.sqlite');
    const live = await serverIn(data);
    // Some 48 MB the copy and its integrity check must read, in a table of their own.
    const raw = new BetterSqlite3(database);
    raw.exec('create table ballast (bytes blob)');
    const fill = raw.prepare('insert into ballast values (randomblob(1048576))');
    for (let i = 0; i < 48; i++) fill.run();
    raw.close();

    /**
     * While `work` runs: the longest the event loop went without turning (a 1 ms timer's gaps) and
     * how many requests the server answered. A copy on this thread shows as one gap about as long
     * as the whole backup; off it, the gaps are the loop's ordinary few milliseconds.
     */
    async function whileRunning(work: () => Promise<unknown>) {
      let answered = 0;
      let running = true;
      let longest = 0;
      let last = performance.now();
      const ticks = setInterval(() => {
        const at = performance.now();
        longest = Math.max(longest, at - last);
        last = at;
      }, 1);
      const requests = (async () => {
        while (running) {
          const health = await live.request({ method: 'GET', url: '/v1/health' });
          if (health.status === 200) answered += 1;
          await new Promise((r) => setImmediate(r));
        }
      })();
      const started = performance.now();
      await work();
      const took = performance.now() - started;
      // The stretch since the timer last ran counts too: a copy on this thread ends the backup
      // with its stall, and the backup's promise settles before the timer could run again.
      longest = Math.max(longest, performance.now() - last);
      clearInterval(ticks);
      running = false;
      await requests;
      return { longest, answered, took };
    }

    const out = folder();
    const backups = schedule({ database, folder: out });
    const during = await whileRunning(async () => {
      const outcome = await backups.runNow();
      if (!outcome.ok) throw outcome.error;
    });
    expect(readdirSync(out)).toHaveLength(1);
    // Relative to the backup's own time, not a number of milliseconds: a slow machine copies slowly too.
    expect(during.longest, JSON.stringify(during)).toBeLessThan(during.took / 4);
    expect(during.answered, JSON.stringify(during)).toBeGreaterThanOrEqual(20);
  });

  it('refuses to keep none, or to take them back to back', () => {
    const database = join(folder(), 'outpost.sqlite');
    const log = memoryLog().log;
    expect(() => scheduleBackups({ database, folder: folder(), everyMs: hour, keep: 0, log })).toThrow(
      'keep: a whole number from 1, not 0',
    );
    expect(() => scheduleBackups({ database, folder: folder(), everyMs: 0, keep: 1, log })).toThrow(
      'everyMs: above 0, not 0',
    );
  });

  it('does not make the folder', () => {
    const missing = join(folder(), 'usb-not-mounted');
    const { log, lines } = memoryLog();
    const backups = schedule({ database: join(folder(), 'outpost.sqlite'), folder: missing, log });
    return backups.runNow().then((outcome) => {
      expect(outcome.ok).toBe(false);
      expect(existsSync(missing)).toBe(false);
      expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    });
  });

  it('tells administrators why a backup failed in words they can act on, never the error itself', () => {
    const system = (code: string) =>
      Object.assign(new Error(`${code}: /media/usb/outpost-backups`), { code });
    // The stick pulled out, or a share not connected.
    expect(
      failureReason(new BackupRefusedError('NO_DESTINATION_FOLDER', 'the folder … does not exist')),
    ).toBe('FOLDER_GONE');
    expect(failureReason(system('ENOENT'))).toBe('FOLDER_GONE');
    expect(failureReason(system('EIO'))).toBe('FOLDER_GONE');
    expect(failureReason(system('ENOSPC'))).toBe('FOLDER_FULL');
    expect(failureReason(system('SQLITE_FULL'))).toBe('FOLDER_FULL');
    expect(failureReason(system('EACCES'))).toBe('FOLDER_NOT_WRITABLE');
    expect(failureReason(system('EROFS'))).toBe('FOLDER_NOT_WRITABLE');
    expect(failureReason(new BackupRefusedError('INTEGRITY_CHECK_FAILED', 'the copy failed …'))).toBe(
      'DATABASE_DAMAGED',
    );
    expect(failureReason(new Error('the backup thread stopped (exit code 1) before it answered'))).toBe(
      'OTHER',
    );
  });
});
