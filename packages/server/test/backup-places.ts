// What the backup tests make and read: folders of their own and servers over a data folder (both
// gone after each test), and a backup file read as it is, read-only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sqliteStorageIn, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';

export interface BackupPlaces {
  /** A new empty folder. */
  folder(): string;
  /** A server over `<dir>/outpost.sqlite`, as `npm start` with OUTPOST_DATA=dir. */
  serverIn(dir: string): Promise<TestServer>;
  /** Closes the servers and removes the folders: the test file's afterEach. */
  cleanUp(): Promise<void>;
}

export function backupPlaces(prefix: string): BackupPlaces {
  const folders: string[] = [];
  const servers: TestServer[] = [];
  return {
    folder() {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      folders.push(dir);
      return dir;
    },
    async serverIn(dir) {
      const server = await startTestServer('sqlite', { storage: sqliteStorageIn(dir) });
      servers.push(server);
      return server;
    },
    async cleanUp() {
      for (const s of servers.splice(0)) await s.close();
      for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
    },
  };
}

/** `read` on the backup opened read-only, closed after. */
export function readBackup<T>(file: string, read: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
