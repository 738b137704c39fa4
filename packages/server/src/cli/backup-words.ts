/** What a backup holds, in the words the backup commands print (backup.ts, decrypt-backup.ts). */
import type { BackupContents } from '../storage/sqlite-backup';

export const count = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

export const size = (bytes: number) =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The integrity check's answer and the counts, so an operator sees the backup is the clinic's. */
export function backupHolds(contents: BackupContents): string {
  return `SQLite's integrity check of the copy answered "ok". It holds ${count(contents.tenants, 'clinic')}: ${count(contents.records, 'record')} (and ${count(contents.deletedRecords, 'deleted one')}, kept so devices hear of the deletion), ${count(contents.ops, 'op')} in the journal, ${count(contents.files, 'file')} (${size(contents.fileBytes)}); its last migration is ${contents.migration}.`;
}
