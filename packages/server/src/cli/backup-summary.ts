/**
 * What a backup holds, in the words `npm run backup` prints after a backup and after
 * `--check` of one (cli/backup.ts): one wording for both, so an operator reads the same summary.
 */
import type { BackupContents } from '../storage/sqlite-backup';

export const count = (n: number, one: string, many = `${one}s`): string =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

export const size = (bytes: number): string =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** "It holds 1 clinic: 14 records (...), ...; its last migration is 0022_...". */
export function backupHolds(contents: BackupContents): string {
  return `It holds ${count(contents.tenants, 'clinic')}: ${count(contents.records, 'record')} (and ${count(contents.deletedRecords, 'deleted one')}, kept so devices hear of the deletion), ${count(contents.ops, 'op')} in the journal, ${count(contents.files, 'file')} (${size(contents.fileBytes)}); its last migration is ${contents.migration}.`;
}
