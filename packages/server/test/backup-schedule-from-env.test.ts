// npm start's scheduled backup settings (cli/backup-schedule-from-env.ts) and the banner line that
// says what they are: where, how often, how many kept, and whether encrypted, or how to have them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupScheduleFromEnv, backupScheduleLine } from '../src/cli/backup-schedule-from-env';
import { newBackupKey } from '../src/storage/backup-encryption';

describe('the scheduled backup settings of npm start', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
  });
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-backup-env-'));
    folders.push(dir);
    return dir;
  };

  it('reads the folder, the interval, the count and the keys, and the banner says them', async () => {
    const dir = folder();
    const plain = backupScheduleFromEnv({ OUTPOST_BACKUP_DIR: dir, OUTPOST_BACKUP_EVERY_HOURS: '6' });
    expect(plain).toEqual({ folder: dir, everyHours: 6, keep: 14, recipients: [] });
    // Unencrypted, the banner says so, and how to have them encrypted.
    expect(backupScheduleLine(plain, false)).toBe(
      `Backups every 6 h into ${dir} (outpost-<UTC time>.sqlite, the newest 14 kept), not encrypted: npm run backup-key makes a key for OUTPOST_BACKUP_RECIPIENTS.`,
    );
    const { recipient } = await newBackupKey();
    const other = await newBackupKey();
    const encrypted = backupScheduleFromEnv({
      OUTPOST_BACKUP_DIR: dir,
      OUTPOST_BACKUP_KEEP: '1',
      OUTPOST_BACKUP_RECIPIENTS: `${recipient}, ${other.recipient},`,
    });
    expect(encrypted).toEqual({
      folder: dir,
      everyHours: 24,
      keep: 1,
      recipients: [recipient, other.recipient],
    });
    expect(backupScheduleLine(encrypted, false)).toBe(
      `Backups every 24 h into ${dir} (outpost-<UTC time>.sqlite.age, the newest one kept), encrypted to 2 public keys of OUTPOST_BACKUP_RECIPIENTS.`,
    );
  });

  it('schedules none without a folder, and says how to have them, on SQLite and on PostgreSQL', () => {
    expect(backupScheduleFromEnv({})).toBeUndefined();
    expect(backupScheduleLine(undefined, false)).toContain('set OUTPOST_BACKUP_DIR');
    expect(backupScheduleLine(undefined, true)).toContain('schedule pg_dump');
  });
});
