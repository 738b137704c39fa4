// A person's records are encrypted on the tablet (decision 0054): what a clinician registers, and
// the change waiting to go, cannot be read off the browser's storage, and neither can the key.
// Online, the app opens them with nothing asked; offline, a reload asks the password, which opens
// them on the device. Signed out, nobody opens them without her password, and an administrator's
// reset of a forgotten password does not lose the change she left waiting.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  openLockedRecords,
  password,
  registerPatient,
  screenshot,
  serviceWorkerReady,
  setNetwork,
  statusText,
  submitSignIn,
} from './clinic-fixture';

/**
 * Everything this browser keeps for the app's origin, as text: every IndexedDB database, every
 * table and row (bytes read as Latin-1, so text in a photo's chunk would show), and localStorage.
 * What someone reading the tablet's disk would find.
 */
function everythingStored(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const asText = (value: unknown): unknown => {
      if (value instanceof ArrayBuffer) return String.fromCharCode(...new Uint8Array(value));
      if (ArrayBuffer.isView(value))
        return String.fromCharCode(...new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      if (value instanceof Blob) return `blob of ${value.size} bytes`;
      return value;
    };
    const parts: string[] = [JSON.stringify({ ...localStorage })];
    for (const { name } of await indexedDB.databases()) {
      if (name === undefined) continue;
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error ?? new Error(`${name} did not open`));
      });
      for (const table of Array.from(db.objectStoreNames)) {
        const rows = await new Promise<unknown[]>((resolve, reject) => {
          const all = db.transaction(table).objectStore(table).getAll();
          all.onsuccess = () => resolve(all.result);
          all.onerror = () => reject(all.error ?? new Error(`${table} could not be read`));
        });
        parts.push(`${name}/${table}: ${JSON.stringify(rows, (_key, value: unknown) => asText(value))}`);
      }
      db.close();
    }
    return parts.join('\n');
  });
}

const lockedHeading = 'Your records on this device are locked';

describe.runIf(chromiumAvailable())('the clinic app encrypting the records on the tablet', () => {
  const suite = clinicSuite();

  async function serverHasPatient(name: string): Promise<boolean> {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    return records.some((r) => (JSON.parse(r.dataJson) as { name?: string }).name === name);
  }

  async function recordsKeyOf(email: string): Promise<string> {
    const { recordsKey } = await suite.clinic.login(email);
    if (recordsKey === undefined) throw new Error(`the login of ${email} gave no records key`);
    return recordsKey;
  }

  it('keeps no patient, waiting change or key readable on the disk; a reload offline asks her password, online nothing', async () => {
    const { context, page } = await suite.device('nurse@clinic-a.test');
    try {
      // The app itself opens offline from the worker's cache.
      await serviceWorkerReady(page);
      const key = await recordsKeyOf('nurse@clinic-a.test');
      await setNetwork(suite.clinic, page, false);
      await statusText(page, 'Offline').waitFor();
      await registerPatient(page, 'Thandiwe Nkhoma', { Village: 'Chileka' });
      await page.getByText('1 change waiting').waitFor();

      const stored = await everythingStored(page);
      // The reading works: the stores and their encryption header are there, in clear.
      expect(stored).toContain('outpost.crypto');
      expect(stored).toContain('"collection":"patients"');
      // What she typed is not, in the records or in the change waiting to go, and neither is the key.
      expect(stored).not.toContain('Thandiwe');
      expect(stored).not.toContain('Chileka');
      expect(stored).not.toContain(key);

      // A reload in the field: the key is in no memory any more, and the server is out of reach.
      await page.reload();
      const locked = page.getByRole('dialog', { name: lockedHeading });
      await locked.getByText('the server cannot be reached to open them').waitFor();
      await screenshot(page, 'records-locked-offline');
      await locked.getByLabel('Enter your password to open them').fill('not her password');
      await locked.getByRole('button', { name: 'Unlock' }).click();
      await locked.getByText(/Wrong password\. 4 tries left/).waitFor();
      await locked.getByLabel('Enter your password to open them').fill(password);
      await locked.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('heading', { level: 1, name: 'Thandiwe Nkhoma' }).waitFor();
      await page.getByText('1 change waiting').waitFor();

      // The network returns: the change goes, with nothing more asked.
      await setNetwork(suite.clinic, page, true);
      await page.getByText('No changes waiting').waitFor({ timeout: 30_000 });
      expect(await serverHasPatient('Thandiwe Nkhoma')).toBe(true);

      // Online, a reload opens her records with the key the server gives her session.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Thandiwe Nkhoma' }).waitFor();
      expect(await page.getByRole('dialog', { name: lockedHeading }).count()).toBe(0);
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });

  it('signed out, her records need her password; a password the office reset does not lose the change she left waiting', async () => {
    const email = 'midwife@clinic-a.test';
    const { context, page } = await suite.device(email);
    try {
      await serviceWorkerReady(page);
      await setNetwork(suite.clinic, page, false);
      await registerPatient(page, 'Left Waiting Banda');
      await page.getByText('1 change waiting').waitFor();
      // Signed out offline: the change stays on the tablet, under her key.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByRole('form', { name: 'Sign in' }).waitFor();
      expect(await everythingStored(page)).not.toContain('Left Waiting');

      // She has forgotten her password: the office sets her a new one. The tablet is back in reach.
      await setNetwork(suite.clinic, page, true);
      const admin = await suite.clinic.login('admin@clinic-a.test');
      const midwife = await suite.clinic.login(email);
      const resetTo = 'the office set this one today';
      const reset = await fetch(`${suite.clinic.url}/v1/admin/users/${midwife.user.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ password: resetTo }),
      });
      expect(reset.status).toBe(200);

      // She signs in with it and chooses her own: the server gave the same key, so her records open,
      // and the change she left waiting goes.
      await submitSignIn(page, email, resetTo);
      await page.getByRole('heading', { level: 1, name: 'Choose your own password' }).waitFor();
      const own = 'only the midwife knows this';
      await page.getByLabel('Current password').fill(resetTo);
      await page.getByLabel('New password', { exact: true }).fill(own);
      await page.getByLabel('New password again').fill(own);
      await page.getByRole('button', { name: 'Choose this password' }).click();
      await page.getByText('No changes waiting').waitFor({ timeout: 30_000 });
      expect(await serverHasPatient('Left Waiting Banda')).toBe(true);

      // Offline again, a reload opens her records with her own password: the key is sealed under it now.
      await setNetwork(suite.clinic, page, false);
      await page.reload();
      const locked = page.getByRole('dialog', { name: lockedHeading });
      await locked.getByLabel('Enter your password to open them').fill(own);
      await locked.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
      await page.getByRole('link', { name: 'Left Waiting Banda' }).waitFor();
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });
  it('a server handing another key (restored from a backup older than it) loses nothing: her password opens the records once, and signing in keeps their key', async () => {
    const email = 'admin@clinic-a.test';
    const { context, page } = await suite.device(email);
    try {
      await serviceWorkerReady(page);
      await setNetwork(suite.clinic, page, false);
      await registerPatient(page, 'Kept Under The Old Key');
      await page.getByText('1 change waiting').waitFor();
      // The server's copy of her key is gone, as on a server restored from a backup taken before
      // her first sign-in: her next login makes a new one. The tablet is in reach again.
      await setNetwork(suite.clinic, page, true);
      const newKey = await suite.clinic.newRecordsKey(email);

      // Online, the app opens with the server's key, which does not open these records: her password does.
      await page.reload();
      const locked = page.getByRole('dialog', { name: lockedHeading });
      await locked.getByText('under a key the server no longer gives').waitFor();
      await openLockedRecords(page);
      await page.getByText('No changes waiting').waitFor({ timeout: 30_000 });
      expect(await serverHasPatient('Kept Under The Old Key')).toBe(true);

      // The records' key is now kept under the server's: a reload online asks nothing any more.
      await page.reload();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
      await page.getByRole('link', { name: 'Kept Under The Old Key' }).waitFor();
      expect(await page.getByRole('dialog', { name: lockedHeading }).count()).toBe(0);

      // Signed out and in again with the network: the key sealed here is kept, not the server's,
      // so the records still open, and the new key is nowhere on the tablet.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await submitSignIn(page, email);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
      await page.getByRole('link', { name: 'Kept Under The Old Key' }).waitFor();
      expect(await everythingStored(page)).not.toContain(newKey);
      await page.reload();
      await page.getByRole('link', { name: 'Kept Under The Old Key' }).waitFor();
      expect(await page.getByRole('dialog', { name: lockedHeading }).count()).toBe(0);
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });
});
