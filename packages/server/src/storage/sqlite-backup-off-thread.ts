/**
 * `backupSqlite` in a worker thread, for the server's scheduled backups (backup-schedule.ts). The
 * copy is one synchronous step of SQLite's backup API (sqlite-backup.ts says why), and the
 * integrity check reads every page: on the server's own thread both would stop it answering
 * pushes for as long as they take on a large database. On a thread of its own, only that thread
 * waits.
 */
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BackupRefusedError } from './sqlite-backup';
import type { BackupOptions, BackupResult } from './sqlite-backup';
import type { BackupWorkerMessage } from './sqlite-backup-worker';

const here = fileURLToPath(import.meta.url);
/** The thread's module beside this one, .ts from source, .js if the server is ever compiled. */
const workerFile = join(dirname(here), `sqlite-backup-worker${extname(here)}`);

/**
 * The code the thread starts with. From source (`npm start` runs under tsx, the tests under
 * vitest) the thread must be able to load TypeScript, and on Node 20 a worker thread does not
 * inherit the main thread's ESM loader hooks (`--import tsx` in its execArgv is not honoured
 * either: tsx issue #354). tsx's CommonJS require hook works in a thread, registered there.
 */
function threadCode(): string {
  if (!workerFile.endsWith('.ts')) return `require(${JSON.stringify(workerFile)});`;
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  return `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(workerFile)});`;
}

export function backupSqliteOffThread(options: BackupOptions): Promise<BackupResult> {
  return new Promise((done, fail) => {
    const worker = new Worker(threadCode(), { eval: true, workerData: options, execArgv: [] });
    let answered = false;
    worker.once('message', (message: BackupWorkerMessage) => {
      answered = true;
      if (message.ok) done(message.result);
      else if (message.code) fail(new BackupRefusedError(message.code, message.message));
      else fail(Object.assign(new Error(message.message), { code: message.systemCode }));
    });
    worker.once('error', (err) => {
      answered = true;
      fail(err);
    });
    worker.once('exit', (code) => {
      if (!answered) fail(new Error(`the backup thread stopped (exit code ${code}) before it answered`));
    });
  });
}
