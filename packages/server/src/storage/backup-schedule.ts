/**
 * Backups the running server takes of its own SQLite database (decision 0049), so a clinic on one
 * laptop has them without cron: every so many hours into a folder, as
 * `outpost-<UTC time>.sqlite`, through `backupSqlite` (temporary name, check, rename) on a worker
 * thread, the oldest of them beyond `keep` deleted after each one that succeeded.
 */
import { existsSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { BackupFailureReason } from '@outpost/core';
import type { BackupOptions, BackupResult } from './sqlite-backup';
import { backupSqliteOffThread } from './sqlite-backup-off-thread';

/** The part of a pino logger (the Fastify instance's `log`) the schedule writes to. */
export interface BackupLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface BackupScheduleOptions {
  /** The server's SQLite file. */
  database: string;
  /** Where the backups go: an existing folder, never made here (a mistyped mount point would put the patients' data on the laptop's own disk). */
  folder: string;
  /** From one backup to the next. */
  everyMs: number;
  /** How many of the schedule's own backups stay in the folder, from 1. */
  keep: number;
  /**
   * Age public keys to encrypt each backup to (`BackupOptions.recipients`, checked with
   * backupRecipients); the files are then named `outpost-<UTC time>.sqlite.age`.
   */
  recipients?: readonly string[];
  log: BackupLog;
  /** The clock, for the files' names and what is due. */
  now?: () => Date;
  /** How long after the start the first backup waits when one is due already, so the start is not slowed by it. */
  firstDelayMs?: number;
  /** How a backup is taken: on a worker thread unless a test says otherwise. */
  backup?: (options: BackupOptions) => Promise<BackupResult>;
}

export type ScheduledBackupOutcome =
  { ok: true; backup: BackupResult; deleted: string[]; kept: number | null } | { ok: false; error: Error };

/** What the schedule has done and will do, for `GET /v1/admin/backups`. */
export interface BackupStatus {
  everyMs: number;
  keep: number;
  encrypted: boolean;
  /** When the newest of the schedule's backups in the folder was taken, this run or one before; null for none. */
  lastBackupAt: string | null;
  /** While backups fail: since when (the first failure after the last success), the last failure's time and why. */
  failing: { since: string; at: string; reason: BackupFailureReason } | null;
  /** When the next backup is due; null once stopped. */
  nextAt: string | null;
}

export interface BackupSchedule {
  /** What the schedule has done and will do. */
  status(): BackupStatus;
  /** A backup now (or the one under way, never two at once), then the pruning. */
  runNow(): Promise<ScheduledBackupOutcome>;
  /** No more backups; resolves once the one under way, if any, has finished. */
  stop(): Promise<void>;
}

/**
 * `outpost-2026-11-24T153000Z.sqlite`, or `.sqlite.age` encrypted: names that sort by the time they
 * were taken. Both count towards `keep`, so a clinic that turns encryption on sees its unencrypted
 * backups go as they age out.
 */
const namePattern = /^outpost-(\d{4})-(\d{2})-(\d{2})T(\d{2})(\d{2})(\d{2})Z\.sqlite(\.age)?$/;

export function scheduledBackupName(at: Date, encrypted = false): string {
  return `outpost-${at.toISOString().slice(0, 19).replaceAll(':', '')}Z.sqlite${encrypted ? '.age' : ''}`;
}

/** When the backup a file name of ours was taken, or null for any other file. */
export function scheduledBackupTime(name: string): Date | null {
  const m = namePattern.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.slice(0, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** The schedule's own backups in the folder, newest first; every other file is left out. */
export function scheduledBackups(folder: string): string[] {
  return readdirSync(folder)
    .filter((name) => scheduledBackupTime(name) !== null)
    .sort()
    .reverse();
}

/** setTimeout takes at most 2^31 - 1 ms (24.8 days) and fires at once beyond; longer waits are taken in turns. */
const longestTimerMs = 2 ** 31 - 1;
/** A failed backup is tried again after this, or after the interval if that is shorter: a day without one after a failure is too long. */
const retryAfterFailureMs = 60 * 60 * 1000;

export function scheduleBackups(options: BackupScheduleOptions): BackupSchedule {
  const folder = resolve(options.folder);
  const database = resolve(options.database);
  const now = options.now ?? (() => new Date());
  const backup = options.backup ?? backupSqliteOffThread;
  const { log, everyMs, keep } = options;
  const recipients = options.recipients ?? [];
  // keep 0 would delete the backup just made; an interval of 0 would take them back to back.
  if (!Number.isSafeInteger(keep) || keep < 1)
    throw new RangeError(`keep: a whole number from 1, not ${keep}`);
  if (!(everyMs > 0)) throw new RangeError(`everyMs: above 0, not ${everyMs}`);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ScheduledBackupOutcome> | undefined;
  let stopped = false;
  let dueAt: number | null = null;
  let lastBackupAt: number | null = newestBackupTime(folder);
  let failing: BackupStatus['failing'] = null;

  function at(due: number): void {
    if (stopped) return;
    clearTimeout(timer);
    dueAt = due;
    timer = setTimeout(
      () => {
        if (now().getTime() < due) at(due);
        else void runNow();
      },
      Math.min(Math.max(0, due - now().getTime()), longestTimerMs),
    );
    // The schedule never keeps the process alive: the server's socket does, and shutdown stops it.
    timer.unref();
  }

  /**
   * The time to name the next backup by, and its file. Names have seconds: a backup in the same
   * second as the last (one run by hand just after a failure was mended) would be refused its
   * name, so it waits for the next second, at most twice. Never a later time than the copy's: a
   * restore takes what was written before the name's time to be in the backup.
   */
  async function nextName(): Promise<{ takenAt: Date; destination: string }> {
    const named = (at: Date) => join(folder, scheduledBackupName(at, recipients.length > 0));
    let takenAt = now();
    for (let waited = 0; waited < 2 && existsSync(named(takenAt)); waited++) {
      await sleep(1000 - takenAt.getUTCMilliseconds());
      takenAt = now();
    }
    return { takenAt, destination: named(takenAt) };
  }

  async function take(): Promise<ScheduledBackupOutcome> {
    const { takenAt, destination } = await nextName();
    warnIfShortOfSpace(database, folder, log);
    let result: BackupResult;
    try {
      result = await backup({ database, destination, recipients });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      // Nothing is deleted after a failure: a schedule that keeps failing must not eat the good backups.
      log.error(
        { file: destination, err: error, code: (error as { code?: unknown }).code },
        `scheduled backup failed, no backup deleted: ${error.message}`,
      );
      const failedAt = now().toISOString();
      failing = { since: failing?.since ?? failedAt, at: failedAt, reason: failureReason(error) };
      return { ok: false, error };
    }
    // The time in the backup's name: the one a restore from it is known by.
    lastBackupAt = Math.floor(takenAt.getTime() / 1000) * 1000;
    failing = null;
    const { deleted, kept } = prune(folder, keep, log);
    log.info(
      {
        file: result.file,
        bytes: result.bytes,
        records: result.records,
        deletedRecords: result.deletedRecords,
        ops: result.ops,
        files: result.files,
        tenants: result.tenants,
        deleted,
        kept,
      },
      `scheduled backup written: ${result.file}`,
    );
    return { ok: true, backup: result, deleted, kept };
  }

  function runNow(): Promise<ScheduledBackupOutcome> {
    if (stopped) return Promise.reject(new Error('the backup schedule has been stopped'));
    if (running) return running;
    clearTimeout(timer);
    running = take().then((outcome) => {
      running = undefined;
      at(now().getTime() + (outcome.ok ? everyMs : Math.min(everyMs, retryAfterFailureMs)));
      return outcome;
    });
    return running;
  }

  removeCutShort(database, folder, log);

  // The first one is due an interval after the newest backup of ours already in the folder, so a
  // restart does not take one each time; one overdue (or none there) is taken soon after the start.
  const newestAt = newestBackupTime(folder);
  const soon = now().getTime() + Math.min(options.firstDelayMs ?? 60_000, everyMs);
  at(newestAt === null ? soon : Math.max(soon, newestAt + everyMs));

  return {
    runNow,
    status: () => ({
      everyMs,
      keep,
      encrypted: recipients.length > 0,
      lastBackupAt: lastBackupAt === null ? null : new Date(lastBackupAt).toISOString(),
      failing,
      nextAt: stopped || dueAt === null ? null : new Date(dueAt).toISOString(),
    }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * Why a scheduled backup failed, in words an administrator can act on without the server's paths or
 * log: the folder gone (a USB stick pulled out, a share unmounted), full, not writable by the
 * server, the database failing its check, or anything else (the server's log says what). By the
 * refusal's code, else the system's.
 */
export function failureReason(error: Error): BackupFailureReason {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'NO_DESTINATION_FOLDER':
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENODEV':
    case 'ENXIO':
    case 'EIO':
      return 'FOLDER_GONE';
    case 'ENOSPC':
    case 'EDQUOT':
    case 'SQLITE_FULL':
      return 'FOLDER_FULL';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'FOLDER_NOT_WRITABLE';
    case 'INTEGRITY_CHECK_FAILED':
      return 'DATABASE_DAMAGED';
    default:
      return 'OTHER';
  }
}

/** When the newest backup of ours in the folder was taken; null for none, or a folder that cannot be read (its backup will fail, and say why). */
function newestBackupTime(folder: string): number | null {
  try {
    const newest = scheduledBackups(folder)[0];
    return newest === undefined ? null : (scheduledBackupTime(newest)?.getTime() ?? null);
  } catch {
    return null;
  }
}

/**
 * The schedule's own backups beyond the newest `keep`, deleted; any other file in the folder is
 * not ours to delete (an operator's own backup put there, say). A file that cannot be deleted is
 * a warning: the backup itself was made.
 */
function prune(folder: string, keep: number, log: BackupLog): { deleted: string[]; kept: number | null } {
  const deleted: string[] = [];
  try {
    for (const name of scheduledBackups(folder).slice(keep)) {
      try {
        rmSync(join(folder, name));
        deleted.push(name);
      } catch (err) {
        log.warn({ file: join(folder, name), err }, 'an old scheduled backup could not be deleted');
      }
    }
    return { deleted, kept: scheduledBackups(folder).length };
  } catch (err) {
    log.warn({ folder, err }, 'the old scheduled backups could not be listed to delete the oldest');
    return { deleted, kept: null };
  }
}

/**
 * A warning, not a refusal, when the folder has less room than the database and its WAL take: the
 * backup may still fit (it has no free pages), and if it does not, it fails and says so.
 */
function warnIfShortOfSpace(database: string, folder: string, log: BackupLog): void {
  try {
    const size = [database, `${database}-wal`].reduce((sum, f) => sum + statSizeOrZero(f), 0);
    const fs = statfsSync(folder);
    const free = fs.bavail * fs.bsize;
    if (free < size)
      log.warn({ folder, free, databaseBytes: size }, 'little free space for the scheduled backup');
  } catch {
    // Not every system can tell (or the folder is gone, which the backup itself reports).
  }
}

function statSizeOrZero(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * What backups cut short left behind (the server killed or the power lost in the middle of one),
 * removed when the schedule starts: in the backup folder, a scheduled backup's temporary file; beside
 * the database, an encrypted backup's unencrypted copy, which is as large as the database and would
 * otherwise pile up with every crash. Each is named with the pid of the process that made it
 * (sqlite-backup.ts), and is removed only if no process has that pid now: a backup still under way
 * in `npm run backup` keeps its files. (A pid another process took since keeps a leftover, never
 * the reverse.)
 */
function removeCutShort(database: string, folder: string, log: BackupLog): void {
  const places: Array<[string, RegExp]> = [
    [folder, /^outpost-\d{4}-\d{2}-\d{2}T\d{6}Z\.sqlite(?:\.age)?\.(\d+)\.incomplete(?:-journal)?$/],
    [
      dirname(database),
      new RegExp(`^${escapeRegExp(basename(database))}\\.backup-(\\d+)\\.incomplete(?:-journal)?$`),
    ],
  ];
  for (const [where, pattern] of places) {
    let names: string[];
    try {
      names = readdirSync(where);
    } catch {
      continue; // A folder gone: its backup will fail, and say why.
    }
    for (const name of names) {
      const pid = Number(pattern.exec(name)?.[1] ?? Number.NaN);
      // This process's own pid names a leftover too: no backup of this schedule has begun yet, and
      // a server restarted in a container often gets the pid its crashed predecessor had.
      if (!Number.isSafeInteger(pid) || (pid !== process.pid && isRunning(pid))) continue;
      try {
        rmSync(join(where, name), { force: true });
        log.warn({ file: join(where, name) }, 'removed what a backup cut short left behind');
      } catch (err) {
        log.warn(
          { file: join(where, name), err },
          'what a backup cut short left behind could not be removed',
        );
      }
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as { code?: string }).code === 'EPERM';
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
