/**
 * The worker thread's side of `backupSqliteOffThread` (sqlite-backup-off-thread.ts): one
 * `backupSqlite` with the options it was started with, its result or refusal posted back.
 * Loaded through tsx's require hook when run from source, so no top-level await and no
 * `import.meta` here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BackupRefusedError, backupSqlite } from './sqlite-backup';
import type { BackupOptions } from './sqlite-backup';

/** What the thread posts back: structured clone keeps no classes, so a refusal travels as its code. */
export type BackupWorkerMessage =
  | { ok: true; result: Awaited<ReturnType<typeof backupSqlite>> }
  | { ok: false; message: string; code?: BackupRefusedError['code']; systemCode?: string };

function answer(message: BackupWorkerMessage): void {
  parentPort?.postMessage(message);
}

backupSqlite(workerData as BackupOptions).then(
  (result) => answer({ ok: true, result }),
  (err: unknown) =>
    answer(
      err instanceof BackupRefusedError
        ? { ok: false, message: err.message, code: err.code }
        : {
            ok: false,
            message: err instanceof Error ? err.message : String(err),
            // The system's or SQLite's code (ENOSPC, EACCES, SQLITE_FULL): what the status says of it.
            ...systemCodeOf(err),
          },
    ),
);

function systemCodeOf(err: unknown): { systemCode?: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { systemCode: code } : {};
}
