/**
 * A backup of the server's SQLite database while it runs (decision 0049): SQLite's online backup
 * API on a connection of our own, written under a temporary name beside the destination, checked,
 * and only then given its name. `npm run backup` (cli/backup.ts) is a thin wrapper over this.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { encryptFile } from './backup-encryption';
import { renewEpochSqlite } from './database-epoch';

/** Why a backup was not made, as a stable code beside the message for a person. */
export type BackupRefusal =
  | 'NO_DATABASE'
  | 'NOT_AN_OUTPOST_DATABASE'
  | 'NO_DESTINATION_FOLDER'
  | 'DESTINATION_EXISTS'
  | 'DESTINATION_IS_THE_DATABASE'
  | 'INTEGRITY_CHECK_FAILED';

/** A backup refused or failed for a reason the operator can act on; nothing is left at the destination. */
export class BackupRefusedError extends Error {
  override readonly name = 'BackupRefusedError';
  readonly code: BackupRefusal;

  constructor(code: BackupRefusal, message: string) {
    super(message);
    this.code = code;
  }
}

/** What a backup file holds, read from the file itself. */
export interface BackupContents {
  /** The last of the server's migrations the database has been through, e.g. `0021_password_change_due`. */
  migration: string;
  /** Tenants (clinics) with any change. */
  tenants: number;
  /** Records that exist. */
  records: number;
  /** Deleted records kept as tombstones, so devices hear of the deletion (decision 0005). */
  deletedRecords: number;
  /** Ops in the journal: each push's op the server answered, kept so a resend is not applied twice. */
  ops: number;
  /** Files received whole, and their bytes. */
  files: number;
  fileBytes: number;
  /** The backup file's own size. */
  bytes: number;
}

export interface BackupResult extends BackupContents {
  /** The backup, an absolute path. */
  file: string;
  /** Whether the file is encrypted (to `BackupOptions.recipients`); `bytes` is then its encrypted size. */
  encrypted: boolean;
  /**
   * Whether the copy was given an epoch of its own (decision 0050), so a server restored from it
   * refuses every cursor the live database issued (410, `details.reason: 'restored'`). False only
   * for a database from before migration 0022, which has none: the migration makes one when a
   * server first opens the restored copy.
   */
  newEpoch: boolean;
}

export interface BackupOptions {
  /** The server's SQLite file. */
  database: string;
  /** Where the backup goes. */
  destination: string;
  /** Replace a file already at the destination (only once the new backup is whole and checked). */
  force?: boolean;
  /**
   * Age public keys (`age1...`, checked with backupRecipients) to encrypt the backup to. The copy is
   * then made and checked beside the server's database, where the same data lie unencrypted
   * already, and only its encryption is written at the destination: no unencrypted page of it ever
   * reaches the USB stick or the other disk, not even in blocks a removed file leaves behind.
   */
  recipients?: readonly string[];
}

/**
 * The whole database in one step of the backup API. Copied in several steps (better-sqlite3's
 * default is 100 pages per turn of the event loop), each write the server commits between two
 * steps makes SQLite start the copy over, and a busy clinic's copy might never finish. One step
 * holds one read transaction: WAL lets the server go on writing meanwhile, and the copy is the
 * database as it stood when the step began.
 */
const allPages = 0x7fffffff;

export async function backupSqlite(options: BackupOptions): Promise<BackupResult> {
  const source = resolve(options.database);
  const destination = resolve(options.destination);
  if (!existsSync(source)) {
    throw new BackupRefusedError('NO_DATABASE', `there is no database at ${source}`);
  }
  const folder = dirname(destination);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    // Not made for the operator: a typo in a USB stick's mount point would write the patients'
    // data onto the machine's own disk instead.
    throw new BackupRefusedError('NO_DESTINATION_FOLDER', `the folder ${folder} does not exist`);
  }
  if (existsSync(destination)) {
    const real = realpathSync(destination);
    const live = realpathSync(source);
    if ([live, `${live}-wal`, `${live}-shm`].includes(real)) {
      throw new BackupRefusedError(
        'DESTINATION_IS_THE_DATABASE',
        `${destination} is the server's own database: choose another file for the backup`,
      );
    }
    if (!options.force) {
      throw new BackupRefusedError(
        'DESTINATION_EXISTS',
        `${destination} already exists: choose another name, or add --force to replace it`,
      );
    }
  }

  // A name that does not pass for a backup, so one cut short (power lost, Ctrl-C) is never taken
  // for a whole one; the pid keeps two backups run at once to the same place apart.
  const temporary = `${destination}.${process.pid}.incomplete`;
  const encrypted = options.recipients !== undefined && options.recipients.length > 0;
  // Encrypted, the copy is made beside the live database and only its encryption at `temporary`.
  const copy = encrypted ? `${source}.backup-${process.pid}.incomplete` : temporary;
  try {
    // Made empty first, readable by this account only, as the data folder's jwt-secret is: it is
    // the clinic's patient data, from its first page on. SQLite takes an empty file as an empty
    // database to copy into. (A file system without permissions, a FAT USB stick, ignores the mode.)
    writeFileSync(copy, '', { mode: 0o600, flag: 'wx' });
    const newEpoch = await copyDatabase(source, copy);
    const contents = checkBackup(
      copy,
      (findings) =>
        `the copy failed SQLite's integrity check, so the server's database itself may be damaged: ${findings}`,
    );
    if (encrypted) await encryptFile(copy, temporary, options.recipients ?? []);
    // On disk before it takes the name: a power cut after the rename must not leave a name over
    // pages still in the cache.
    syncToDisk(temporary);
    if (!options.force && existsSync(destination)) {
      throw new BackupRefusedError(
        'DESTINATION_EXISTS',
        `${destination} appeared while the backup was written: choose another name, or add --force to replace it`,
      );
    }
    renameSync(temporary, destination);
    syncFolder(folder);
    return { file: destination, ...contents, bytes: statSync(destination).size, encrypted, newEpoch };
  } finally {
    for (const file of new Set([copy, temporary])) {
      rmSync(file, { force: true });
      rmSync(`${file}-journal`, { force: true });
    }
  }
}

/**
 * The online backup of `source` into `target`, the copy made one self-contained file and given an
 * epoch of its own. Returns whether it had an epoch to renew.
 */
async function copyDatabase(source: string, target: string): Promise<boolean> {
  // A connection of our own that never writes. Not opened read-only: a read-only connection cannot
  // remove the -wal and -shm files it made, and would leave them beside a stopped server's database.
  const db = new BetterSqlite3(source, { fileMustExist: true });
  let takenAt: string | null = null;
  try {
    db.pragma('busy_timeout = 5000');
    if (!isOutpostDatabase(db)) {
      throw new BackupRefusedError(
        'NOT_AN_OUTPOST_DATABASE',
        `${source} is not an Outpost server's database (it has no outpost_migrations table)`,
      );
    }
    // Before the copy's read begins: every write it holds was stamped before this time, or a moment
    // after (the devices allow for that), and what the backup lacks was stamped after it.
    takenAt = new Date().toISOString();
    await db.backup(target, { progress: () => allPages });
  } finally {
    db.close();
  }
  // The copy comes out in WAL mode, as the server's database is; in rollback-journal mode it is
  // one file, complete by itself, and opening it read-only makes no -wal or -shm beside it. The
  // server sets WAL again when it opens the restored file.
  const copy = new BetterSqlite3(target, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    // The copy's own epoch (decision 0050), written in the copy only, before its integrity check:
    // restored, it refuses the cursors the live database issued, before the backup and after,
    // which a check of positions alone stops seeing once the clinic has made as many changes again.
    // With the time it was taken, so the devices know which of what they hold it lacks, and the
    // copy's own id counters, the last server ids it had issued: which numbers it lacks.
    return renewEpochSqlite(copy, 'backup', takenAt) !== null;
  } finally {
    copy.close();
  }
}

/** Whether an SQLite file is an Outpost server's database (false for a file that is no database at all). */
export function isOutpostDatabase(db: BetterSqlite3.Database): boolean {
  try {
    return (
      db.prepare("select 1 from sqlite_master where type = 'table' and name = 'outpost_migrations'").get() !==
      undefined
    );
  } catch (err) {
    // Any file SQLite cannot read as a database: a text file, a zip, an encrypted volume's image.
    if ((err as { code?: string }).code === 'SQLITE_NOTADB') return false;
    throw err;
  }
}

/**
 * Opens a backup read-only, runs SQLite's integrity check (every page, index and constraint) and
 * says what it holds. Throws NOT_AN_OUTPOST_DATABASE for a file that is not one (not SQLite at
 * all, or another program's), and INTEGRITY_CHECK_FAILED with SQLite's first findings, in the
 * words `damaged` gives them, for a damaged one. Writes nothing to the file or beside it.
 */
export function checkBackup(
  file: string,
  damaged: (findings: string) => string = (findings) =>
    `${file} failed SQLite's integrity check: ${findings}`,
): BackupContents {
  // A file in WAL mode (a server's database copied by hand, say) makes SQLite create -wal and -shm
  // beside it even read-only, and a read-only connection cannot remove them: we do, if we made them.
  const sidecars = [`${file}-wal`, `${file}-shm`].filter((f) => !existsSync(f));
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    let outpost: boolean;
    try {
      outpost = isOutpostDatabase(db);
    } catch (err) {
      throw corruptAsFailed(err, damaged);
    }
    if (!outpost) {
      throw new BackupRefusedError(
        'NOT_AN_OUTPOST_DATABASE',
        `${file} is not an Outpost server's database (it is not SQLite, or has no outpost_migrations table)`,
      );
    }
    try {
      return contentsOf(db, file, damaged);
    } catch (err) {
      throw corruptAsFailed(err, damaged);
    }
  } finally {
    db.close();
    for (const made of sidecars) removeIfEmptyOrShm(made);
  }
}

/** A -wal a read-only connection made stays empty: one with pages in it is someone else's, and stays. */
function removeIfEmptyOrShm(file: string): void {
  try {
    if (file.endsWith('-shm') || statSync(file).size === 0) rmSync(file, { force: true });
  } catch {
    // Not made after all.
  }
}

function contentsOf(
  db: BetterSqlite3.Database,
  file: string,
  damaged: (findings: string) => string,
): BackupContents {
  const findings = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  const answer = findings.map((f) => f.integrity_check);
  if (answer.length !== 1 || answer[0] !== 'ok') {
    throw new BackupRefusedError('INTEGRITY_CHECK_FAILED', damaged(answer.slice(0, 3).join('; ')));
  }
  const count = (sql: string): number => (db.prepare(sql).pluck().get() as number | null) ?? 0;
  const migration = db
    .prepare('select name from outpost_migrations order by name desc limit 1')
    .pluck()
    .get() as string | undefined;
  return {
    migration: migration ?? 'none',
    tenants: count('select count(*) from tenant_state'),
    records: count('select count(*) from records where deleted = 0'),
    deletedRecords: count('select count(*) from records where deleted <> 0'),
    ops: count('select count(*) from ops'),
    files: count('select count(*) from files where completed_at is not null'),
    fileBytes: count('select sum(size) from files where completed_at is not null'),
    bytes: statSync(file).size,
  };
}

/**
 * SQLite may stop at damage before its integrity check can list it (a page it needs to read the
 * schema, say): that is the check failing too, not an error of ours.
 */
function corruptAsFailed(err: unknown, damaged: (findings: string) => string): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT')) {
    return new BackupRefusedError('INTEGRITY_CHECK_FAILED', damaged((err as Error).message));
  }
  return err;
}

function syncToDisk(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The rename itself, made durable where the system allows it. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot open a folder, and some file systems (a FAT-formatted USB stick) refuse to
    // sync one; the file's own bytes were synced above.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
