// Encrypted backups (decision 0049) as an operator makes and restores them: `npm run backup-key`
// makes the clinic's key pair, `npm run backup` with OUTPOST_BACKUP_RECIPIENTS writes only the
// encryption of the copy at the destination, and `npm run decrypt-backup` with the secret key gives
// back a database that opens, checked; a wrong key or an altered file gives nothing.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { backupPlaces } from './backup-places';
import type { TestServer } from './server-fixture';
import { push } from './sync-client';
import { runCommand } from './cli-command';

const ageHeader = 'age-encryption.org/v1\n';

describe('encrypted backups', () => {
  const places = backupPlaces('outpost-encrypted-backup-');
  const { folder } = places;
  afterEach(() => places.cleanUp());

  /** A server on its own data folder, holding Amina Banda, the patient the backups must carry. */
  async function clinic(): Promise<{ data: string; server: TestServer }> {
    const data = folder();
    const server = await places.serverIn(data);
    const nurse = await server.token('nurse@clinic-a.test');
    await push(server, nurse, [
      {
        collection: 'patients',
        type: 'create',
        id: uuidv7(),
        data: { name: 'Amina Banda', village: 'Ntcheu' },
      },
    ]);
    return { data, server };
  }

  /** `npm run backup` of the clinic's data with OUTPOST_BACKUP_RECIPIENTS, onto a new stick. */
  async function encryptedBackup(
    data: string,
    recipient: string,
  ): Promise<{ stick: string; backup: string; stdout: string }> {
    const stick = folder();
    const backup = join(stick, 'clinic.sqlite.age');
    const made = await runCommand('backup', [backup], {
      OUTPOST_DATA: data,
      OUTPOST_BACKUP_RECIPIENTS: recipient,
    });
    expect(made.code, made.stderr).toBe(0);
    return { stick, backup, stdout: made.stdout };
  }

  /** `npm run backup-key` into a new folder (the stick): the key file and the public key printed. */
  async function newKey(): Promise<{ keyFile: string; recipient: string }> {
    const stick = folder();
    const keyFile = join(stick, 'clinic-backups.key');
    const ran = await runCommand('backup-key', [keyFile], { OUTPOST_DATA: folder() });
    expect(ran.code, ran.stderr).toBe(0);
    const recipient = /Its public key is (age1[a-z0-9]+)/.exec(ran.stdout)?.[1];
    expect(recipient).toBeDefined();
    return { keyFile, recipient: recipient ?? '' };
  }

  it('makes a key pair: the secret key in a file of its owner only, as age-keygen writes it, the public key printed', async () => {
    const { keyFile, recipient } = await newKey();
    const text = readFileSync(keyFile, 'utf8');
    expect(text).toContain(`# public key: ${recipient}`);
    expect(text).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/m);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    // Never over an existing key: the backups encrypted to it would be lost with it.
    const again = await runCommand('backup-key', [keyFile], { OUTPOST_DATA: folder() });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists, and may be the key of existing backups');
    expect(readFileSync(keyFile, 'utf8')).toBe(text);

    const nowhere = await runCommand('backup-key', [join(folder(), 'no-such-stick', 'k.key')], {});
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain('does not exist');
    expect((await runCommand('backup-key', [], {})).code).toBe(2);
  });

  it('warns when the key is written on the disk of the server’s data', async () => {
    const data = folder();
    const ran = await runCommand('backup-key', [join(data, 'k.key')], { OUTPOST_DATA: data });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('is on the same disk as the server');
  });

  it('writes only the encryption at the destination, and decrypts it with the key into a database that holds the clinic', async () => {
    const { data } = await clinic();
    const { keyFile, recipient } = await newKey();
    const { stick, backup, stdout } = await encryptedBackup(data, recipient);
    expect(stdout).toContain('It is encrypted to 1 public key of OUTPOST_BACKUP_RECIPIENTS');
    expect(stdout).toContain('To restore it: decrypt it (npm run decrypt-backup)');
    expect(stdout).toMatch(/It holds 1 clinic: 1 record/);
    // Nothing but the encrypted file on the stick, and no plain copy left beside the database.
    expect(readdirSync(stick)).toEqual(['clinic.sqlite.age']);
    expect(readdirSync(data).filter((f) => f.includes('incomplete'))).toEqual([]);
    const bytes = readFileSync(backup);
    expect(bytes.subarray(0, ageHeader.length).toString('latin1')).toBe(ageHeader);
    expect(bytes.includes('SQLite format 3')).toBe(false);
    expect(bytes.includes('Amina Banda')).toBe(false);
    expect(statSync(backup).mode & 0o777).toBe(0o600);

    // --check reads SQLite files: it says how to check this one instead.
    const checked = await runCommand('backup', ['--check', backup], {});
    expect(checked.code).toBe(1);
    expect(checked.stderr.trim()).toBe(
      `Not checked: ${backup} is encrypted. npm run decrypt-backup -- <it> <file> --key <key file> decrypts it and checks it.`,
    );

    const restored = join(folder(), 'outpost.sqlite');
    const opened = await runCommand('decrypt-backup', [backup, restored, '--key', keyFile], {});
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toContain('integrity check of the copy answered "ok"');
    const db = new BetterSqlite3(restored, { readonly: true, fileMustExist: true });
    const names = db.prepare('select data from records').pluck().all() as string[];
    db.close();
    expect(names.some((d) => d.includes('Amina Banda'))).toBe(true);
  });

  it('gives nothing with another key, or from a backup altered anywhere, and leaves no part of it', async () => {
    const { data } = await clinic();
    const { keyFile, recipient } = await newKey();
    const other = await newKey();
    const { stick, backup } = await encryptedBackup(data, recipient);

    const out = folder();
    const wrongKey = await runCommand(
      'decrypt-backup',
      [backup, join(out, 'a.sqlite'), '--key', other.keyFile],
      {},
    );
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain(
      'this key does not open the backup: it was encrypted to another public key',
    );

    // One bit flipped in the middle of the data, as a failing stick does.
    const altered = readFileSync(backup);
    const middle = Math.floor(altered.length / 2);
    altered[middle] = (altered[middle] ?? 0) ^ 1;
    const damaged = join(stick, 'damaged.sqlite.age');
    writeFileSync(damaged, altered);
    const broken = await runCommand('decrypt-backup', [damaged, join(out, 'b.sqlite'), '--key', keyFile], {});
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('the backup is damaged or incomplete');

    const plain = await runCommand(
      'decrypt-backup',
      [join(data, 'outpost.sqlite'), join(out, 'c.sqlite'), '--key', keyFile],
      {},
    );
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('is not encrypted: restore it as it is');
    expect(readdirSync(out)).toEqual([]);
  });

  it('refuses a secret key, or a public key mistyped, in OUTPOST_BACKUP_RECIPIENTS, writing nothing', async () => {
    const { data } = await clinic();
    const stick = folder();
    const secret = 'AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZ';
    for (const [value, said] of [
      [secret, 'that is a secret key (AGE-SECRET-KEY-...)'],
      ['age1notakey', '"age1notakey" is not an age public key'],
    ] as const) {
      const ran = await runCommand('backup', [join(stick, 'b.sqlite.age')], {
        OUTPOST_DATA: data,
        OUTPOST_BACKUP_RECIPIENTS: value,
      });
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain(`Not backed up: OUTPOST_BACKUP_RECIPIENTS: ${said}`);
      expect(ran.stderr).not.toContain(secret.slice(16));
    }
    expect(readdirSync(stick)).toEqual([]);
  });
});
