/**
 * Backups encrypted to a key the server never holds (decision 0049, "Encrypted backups"): the age
 * format (age-encryption.org/v1) through `age-encryption`, the TypeScript implementation by age's
 * own author. A backup holds every record and file of the clinic; it goes to a USB stick, another
 * disk, another building. Encrypted to the clinic's *public* key (an age recipient, `age1...`), the
 * laptop that writes it cannot read it back: a thief with the laptop and the stick reads neither
 * the backups nor, through them, anything the laptop's own disk encryption protects. The secret
 * key (the identity, `AGE-SECRET-KEY-1...`) lives apart, with whoever may restore.
 *
 * age, and not a format of our own: it is small, reviewed, streams files of any size with an
 * authenticated cipher, and a clinic's operator can decrypt a backup with the `age` command found
 * in every package manager when our code is not at hand.
 */
import { createReadStream, createWriteStream, openSync, readSync, closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';

/** The first bytes of every age file. */
const ageHeader = 'age-encryption.org/v1\n';

/** A recipient or identity that age would not take, said in words for the operator. */
export class BackupKeyError extends Error {
  override readonly name = 'BackupKeyError';
}

/**
 * The recipients as the encryption takes them, each checked now: a typo in the public key found at
 * start, not at the first backup in the night. Empty strings (a trailing comma) are skipped.
 */
export function backupRecipients(list: string): string[] {
  const recipients = list
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  for (const recipient of recipients) {
    try {
      new Encrypter().addRecipient(recipient);
    } catch {
      throw new BackupKeyError(
        recipient.startsWith('AGE-SECRET-KEY-')
          ? 'that is a secret key (AGE-SECRET-KEY-...): give the server its public key (age1...), which npm run backup-key printed, and keep the secret one away from this machine'
          : `"${recipient}" is not an age public key (age1...)`,
      );
    }
  }
  return recipients;
}

/**
 * A new key pair for the clinic's backups. X25519, not age's post-quantum hybrid: the `age`
 * command clinics install from their package manager reads X25519 files in every version.
 */
export async function newBackupKey(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** The identities in a key file as age writes them: one per line, `#` lines are comments. */
export function identitiesIn(text: string): string[] {
  const identities = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (identities.length === 0 || identities.some((id) => !id.startsWith('AGE-SECRET-KEY-'))) {
    throw new BackupKeyError('the key file holds no age secret key (AGE-SECRET-KEY-1...)');
  }
  return identities;
}

/** Whether a file is age-encrypted, by its first line: a backup to decrypt before it opens. */
export function isEncryptedBackup(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(ageHeader.length);
    const read = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, read).toString('latin1') === ageHeader;
  } finally {
    closeSync(fd);
  }
}

/**
 * Encrypts `source` into `target` for the recipients, a chunk at a time (64 KiB, so a database of
 * gigabytes never sits in memory). `target` is made readable by its owner only and must not exist.
 */
export async function encryptFile(
  source: string,
  target: string,
  recipients: readonly string[],
): Promise<void> {
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  const encrypted = await encrypter.encrypt(webStream(source));
  await pipeline(nodeStream(encrypted), createWriteStream(target, { mode: 0o600, flags: 'wx' }));
}

/**
 * Decrypts `source` into `target` with the identities. A wrong key, or a file altered anywhere,
 * fails with BackupKeyError: age authenticates every chunk, so a damaged backup is never taken
 * for a whole one, and what was written of `target` is the caller's to remove.
 */
export async function decryptFile(
  source: string,
  target: string,
  identities: readonly string[],
): Promise<void> {
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  let decrypted: ReadableStream<Uint8Array>;
  try {
    decrypted = await decrypter.decrypt(webStream(source));
  } catch (err) {
    // The header names the recipients; no identity matching any of them is the wrong key, anything
    // else a header that does not read as age's.
    throw new BackupKeyError(
      /no identity matched/.test(messageOf(err))
        ? 'this key does not open the backup: it was encrypted to another public key'
        : `the backup is damaged or is not an encrypted backup: ${messageOf(err)}`,
    );
  }
  try {
    await pipeline(nodeStream(decrypted), createWriteStream(target, { mode: 0o600, flags: 'wx' }));
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') throw err;
    throw new BackupKeyError(`the backup is damaged or incomplete: ${messageOf(err)}`);
  }
}

function webStream(file: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(createReadStream(file, { highWaterMark: 64 * 1024 })) as ReadableStream<Uint8Array>;
}

/** age's stream, typed as the DOM's, read as Node's: the same object at run time. */
function nodeStream(stream: ReadableStream<Uint8Array>): Readable {
  return Readable.fromWeb(stream as unknown as NodeReadableStream<Uint8Array>);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
