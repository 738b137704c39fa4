import { join, resolve } from 'node:path';

/**
 * Where `npm start` keeps its SQLite file, and so where `npm run backup` finds it: one function for
 * both, so the backup reads the very file the server writes.
 */
export interface DataFolder {
  /** `OUTPOST_DATA`, or `.outpost`, made absolute against the working directory. */
  dir: string;
  /** The server's database in it. */
  sqliteFile: string;
}

export function dataFolderFromEnv(env: NodeJS.ProcessEnv): DataFolder {
  const dir = resolve(env['OUTPOST_DATA'] ?? '.outpost');
  return { dir, sqliteFile: join(dir, 'outpost.sqlite') };
}

/** The SQLite file `npm start` opens: DATABASE_URL when it names a file (not PostgreSQL), else the data folder's. */
export function sqliteFileFromEnv(env: NodeJS.ProcessEnv): string {
  const url = env['DATABASE_URL'];
  return url ? resolve(url) : dataFolderFromEnv(env).sqliteFile;
}
