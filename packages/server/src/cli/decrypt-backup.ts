/**
 * `npm run decrypt-backup -- <encrypted backup> <file> --key <key file>`: an encrypted backup
 * (decision 0049) made a database again, ready to restore. Decrypted under a temporary name beside
 * `<file>`, checked as a backup is, and only then given the name. age authenticates every chunk,
 * so a backup altered or cut short anywhere fails here instead of being restored.
 * Exit codes: 0 decrypted and checked, 1 refused or failed (one line saying why), 2 not used as documented.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BackupKeyError, decryptFile, identitiesIn, isEncryptedBackup } from '../storage/backup-encryption';
import { BackupRefusedError, checkBackup } from '../storage/sqlite-backup';
import { backupHolds, size } from './backup-summary';

const env = process.env;
const usage = 'Usage: npm run decrypt-backup -- <encrypted backup> <file to write> --key <key file>';
const args = process.argv.slice(2);
const keyAt = args.indexOf('--key');
const keyArg = keyAt === -1 ? undefined : args[keyAt + 1];
const files = args.filter((_, i) => i !== keyAt && i !== keyAt + 1);
if (keyArg === undefined || files.length !== 2 || files.some((f) => f.startsWith('-'))) {
  console.error(usage);
  process.exit(2);
}
const fail = (why: string): never => {
  console.error(`Not decrypted: ${why}`);
  process.exit(1);
};
// npm runs scripts from the project's root: relative names are taken from where they were typed.
const here = env['INIT_CWD'] ?? process.cwd();
const [source, target] = files.map((f) => resolve(here, f)) as [string, string];
const keyFile = resolve(here, keyArg);

if (!existsSync(source)) fail(`there is no file at ${source}`);
if (!isEncryptedBackup(source))
  fail(`${source} is not encrypted: restore it as it is (docs/server.md, "Backups and restore")`);
if (!existsSync(keyFile)) fail(`there is no key file at ${keyFile}`);
if (!existsSync(dirname(target)) || !statSync(dirname(target)).isDirectory()) {
  fail(`the folder ${dirname(target)} does not exist`);
}
if (existsSync(target)) fail(`${target} already exists: choose another name`);

let identities: string[] = [];
try {
  identities = identitiesIn(readFileSync(keyFile, 'utf8'));
} catch (err) {
  fail(`${keyFile}: ${err instanceof Error ? err.message : String(err)}`);
}

const temporary = `${target}.${process.pid}.incomplete`;
try {
  await decryptFile(source, temporary, identities);
  const contents = checkBackup(temporary);
  renameSync(temporary, target);
  console.log(
    [
      `Decrypted ${source}`,
      `       to ${target} (${size(statSync(target).size)}).`,
      `SQLite's integrity check of the copy answered "ok". ${backupHolds(contents)}`,
      'It holds patient data, unencrypted: restore it (docs/server.md, "Backups and restore"), then remove this copy.',
    ].join('\n'),
  );
} catch (err) {
  // Not through fail(): process.exit would skip the removal of what was written.
  console.error(
    `Not decrypted: ${err instanceof BackupKeyError || err instanceof BackupRefusedError ? err.message : String(err)}`,
  );
  process.exitCode = 1;
} finally {
  rmSync(temporary, { force: true });
}
