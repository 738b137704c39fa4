/**
 * `npm run backup-key -- <key file>`: a new key pair for the clinic's encrypted backups (decision
 * 0049). The secret key goes into the file, in the format of age's own `age-keygen`, so the `age`
 * command reads it too; the public key is printed, to set as OUTPOST_BACKUP_RECIPIENTS. The server
 * needs only the public key: the file belongs on a USB stick in the clinic's safe, or in its
 * password manager, never beside the backups or on this machine.
 * Exit codes: 0 written, 1 refused (one line saying why), 2 not used as documented.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { newBackupKey } from '../storage/backup-encryption';
import { dataFolderFromEnv } from './data-folder';

const env = process.env;
const usage = 'Usage: npm run backup-key -- <key file>   (a new file, e.g. on a USB stick)';
const args = process.argv.slice(2);
if (args.length !== 1 || args[0]?.startsWith('-')) {
  console.error(args.length === 0 ? `Where should the secret key go? ${usage}` : usage);
  process.exit(2);
}
// npm runs scripts from the project's root: a relative name is taken from where it was typed.
const file = resolve(env['INIT_CWD'] ?? process.cwd(), args[0] ?? '');
const folder = dirname(file);
if (!existsSync(folder) || !statSync(folder).isDirectory()) {
  // Not made, as for a backup: a mistyped mount point would leave the key on this machine.
  console.error(`No key written: the folder ${folder} does not exist.`);
  process.exit(1);
}
if (existsSync(file)) {
  // Never over a key: the backups encrypted to it could no longer be opened.
  console.error(
    `No key written: ${file} already exists, and may be the key of existing backups. Choose another name.`,
  );
  process.exit(1);
}

const { identity, recipient } = await newBackupKey();
writeFileSync(
  file,
  [
    `# created: ${new Date().toISOString()}`,
    `# public key: ${recipient}`,
    '# The secret key of an Outpost clinic’s encrypted backups: whoever holds it can read them all.',
    identity,
    '',
  ].join('\n'),
  { mode: 0o600, flag: 'wx' },
);

const data = dataFolderFromEnv(env).dir;
const sameDisk = existsSync(data) && statSync(data).dev === statSync(folder).dev;
console.log(
  [
    `Wrote the secret key of the clinic's backups to ${file}.`,
    `Its public key is ${recipient}`,
    `Set OUTPOST_BACKUP_RECIPIENTS=${recipient} where the server starts (npm start, npm run backup): every backup is then encrypted to it.`,
    ...(sameDisk
      ? [
          `That file is on the same disk as the server's data (${data}): move it off this machine, or a thief with the laptop has the key to its backups too.`,
        ]
      : []),
    'Keep the key apart from the backups and from this machine, and keep a second copy: without it no encrypted backup can be restored; with it anyone can read them.',
  ].join('\n'),
);
