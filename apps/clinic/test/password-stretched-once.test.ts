// A sign-in stretches the password once (decision 0055): the offline sign-in's verifier and the
// seal of the records key come from the same 600,000 PBKDF2 rounds, which take about half a second
// on a field tablet, so a nurse waits that long once, not twice. A tablet that kept both the way
// earlier versions did (each stretched on its own) still signs her in offline and opens her
// records, and her next sign-in with the network keeps them the new way.
import { describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  openLockedRecords,
  password,
  registerPatient,
  serviceWorkerReady,
  setNetwork,
  signIn,
  storedSession,
  submitSignIn,
} from './clinic-fixture';

/** What the session database keeps under a password: the verifier and the sealed records key. */
interface KeptUnderPassword {
  verifier?: { salt: string; iterations: number; hash: string; scheme?: number; signedInAt: string };
  seal?: { salt: string; iterations: number; sealed: string; scheme?: number };
}

function keptUnderPassword(page: Page): Promise<KeptUnderPassword> {
  return page.evaluate(
    () =>
      new Promise<KeptUnderPassword>((resolve, reject) => {
        const open = indexedDB.open('outpost-clinic-worker-session');
        open.onerror = () => reject(open.error ?? new Error('the session database did not open'));
        open.onsuccess = () => {
          const db = open.result;
          const table = db.transaction('session').objectStore('session');
          const keys = table.getAllKeys();
          const rows = table.getAll();
          rows.onsuccess = () => {
            db.close();
            const found: Record<string, unknown> = {};
            keys.result.forEach((key, i) => {
              const name = String(key);
              if (name.startsWith('offline-sign-in:')) found.verifier = rows.result[i];
              if (name.startsWith('records-key:')) found.seal = rows.result[i];
            });
            resolve(found);
          };
          rows.onerror = () => reject(rows.error);
        };
      }),
  );
}

/**
 * A tablet counting how often its pages stretch a password: PBKDF2 with the 100,000 rounds or more
 * a password gets (the records key itself, random, goes through one round and is not counted).
 */
async function countingTablet(
  newContext: () => Promise<BrowserContext>,
): Promise<{ context: BrowserContext; page: Page; stretches: () => number }> {
  const context = await newContext();
  let stretches = 0;
  await context.exposeBinding('outpostTestStretched', () => void stretches++);
  await context.addInitScript(() => {
    const counted = (iterations: unknown) => {
      if (typeof iterations === 'number' && iterations >= 100_000)
        void (window as unknown as { outpostTestStretched(): Promise<void> }).outpostTestStretched();
    };
    const subtle = SubtleCrypto.prototype;
    const { deriveBits, deriveKey } = subtle;
    subtle.deriveBits = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto['deriveBits']>) {
      counted((args[0] as Pbkdf2Params).iterations);
      return deriveBits.apply(this, args);
    };
    subtle.deriveKey = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto['deriveKey']>) {
      counted((args[0] as Pbkdf2Params).iterations);
      return deriveKey.apply(this, args);
    } as SubtleCrypto['deriveKey'];
  });
  return { context, page: await context.newPage(), stretches: () => stretches };
}

describe.runIf(chromiumAvailable())('the clinic app stretching a password once per sign-in', () => {
  const suite = clinicSuite();

  async function serverHasPatient(name: string): Promise<boolean> {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    return records.some((r) => (JSON.parse(r.dataJson) as { name?: string }).name === name);
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('form', { name: 'Sign in' }).waitFor();
  }

  /** Waits until the verifier a sign-in keeps in the background is written after `before`. */
  async function verifierWritten(page: Page, before: string | undefined): Promise<KeptUnderPassword> {
    await expect
      .poll(async () => (await keptUnderPassword(page)).verifier?.signedInAt, { timeout: 15_000 })
      .not.toBe(before);
    return keptUnderPassword(page);
  }

  it('online, offline and at a locked reload, each sign-in stretches her password once', async () => {
    const { context, page, stretches } = await countingTablet(() => suite.browser.newContext());
    try {
      await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
      await serviceWorkerReady(page);
      const first = await verifierWritten(page, undefined);
      expect(stretches()).toBe(1);
      // One stretching made both: the verifier and the seal share its salt.
      expect(first.verifier?.salt).toBe(first.seal?.salt);
      expect(first.verifier?.scheme).toBe(2);
      expect(first.seal?.scheme).toBe(2);

      // Signing in again with the network opens the seal, and the verifier comes of the same stretching.
      await signOut(page);
      await submitSignIn(page, 'nurse@clinic-a.test');
      await page.getByRole('button', { name: 'New patient' }).waitFor();
      const again = await verifierWritten(page, first.verifier?.signedInAt);
      expect(stretches()).toBe(2);
      expect(again.verifier?.salt).toBe(first.seal?.salt);

      // With no network: the check of the verifier opens the records too.
      await signOut(page);
      await setNetwork(suite.clinic, page, false);
      await submitSignIn(page, 'nurse@clinic-a.test');
      await page.getByText('Signed in on this device without the network').waitFor();
      await registerPatient(page, 'Chikondi Phiri');
      await page.getByText('1 change waiting').waitFor();
      expect(stretches()).toBe(3);

      // A reload in the field, before the server confirmed that sign-in: the password asked once
      // opens the records on the device.
      await page.reload();
      await page
        .getByRole('dialog', { name: 'Your records on this device are locked' })
        .getByText('the server has not yet confirmed the sign-in made here without the network')
        .waitFor();
      await openLockedRecords(page);
      await page.getByRole('heading', { level: 1, name: 'Chikondi Phiri' }).waitFor();
      expect(stretches()).toBe(4);

      // Back in reach, the server asks her password once, and the patient goes.
      await setNetwork(suite.clinic, page, true);
      const signInAgain = page.getByRole('form', { name: 'Sign in again' });
      await signInAgain.getByLabel('Password for nurse@clinic-a.test').fill(password);
      await signInAgain.getByRole('button', { name: 'Sign in again' }).click();
      await page.getByText('No changes waiting').waitFor({ timeout: 30_000 });
      expect(await serverHasPatient('Chikondi Phiri')).toBe(true);
      expect(stretches()).toBe(5);
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });

  it('a tablet that kept the verifier and the seal the earlier way signs her in offline, and her next sign-in online keeps them the new way', async () => {
    const { context, page, stretches } = await countingTablet(() => suite.browser.newContext());
    try {
      await signIn(page, suite.clinic.url, 'midwife@clinic-a.test');
      await serviceWorkerReady(page);
      await registerPatient(page, 'Tamanda Zulu');
      await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
      await verifierWritten(page, undefined);
      const session = await storedSession(page);
      if (session === null) throw new Error('the midwife is not signed in');

      // What the version before kept: a verifier that is PBKDF2 of the password itself, and the
      // records key sealed under the library's keyFromPassphrase, each with a salt of its own.
      await page.evaluate(
        async ({ typed, token, tenant, userId, email }) => {
          const answer = (await (
            await fetch('/v1/auth/records-key', { headers: { authorization: `Bearer ${token}` } })
          ).json()) as { recordsKey: string };
          const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
          const rounds = 600_000;
          const verifierSalt = crypto.getRandomValues(new Uint8Array(16));
          const typedKey = await crypto.subtle.importKey(
            'raw',
            new TextEncoder().encode(typed),
            'PBKDF2',
            false,
            ['deriveBits', 'deriveKey'],
          );
          const hash = await crypto.subtle.deriveBits(
            { name: 'PBKDF2', hash: 'SHA-256', salt: verifierSalt, iterations: rounds },
            typedKey,
            256,
          );
          const sealSalt = crypto.getRandomValues(new Uint8Array(16));
          const sealingKey = await crypto.subtle.deriveKey(
            { name: 'PBKDF2', hash: 'SHA-256', salt: sealSalt, iterations: rounds },
            typedKey,
            { name: 'AES-GCM', length: 256 },
            false,
            ['encrypt'],
          );
          const iv = crypto.getRandomValues(new Uint8Array(12));
          const sealed = new Uint8Array(
            await crypto.subtle.encrypt(
              {
                name: 'AES-GCM',
                iv,
                additionalData: new TextEncoder().encode(`outpost.records-key\u0000${tenant}\u0000${userId}`),
              },
              sealingKey,
              new TextEncoder().encode(answer.recordsKey),
            ),
          );
          const verifierKey = `offline-sign-in:${email}`;
          await new Promise<void>((resolve, reject) => {
            const open = indexedDB.open('outpost-clinic-worker-session');
            open.onerror = () => reject(open.error ?? new Error('the session database did not open'));
            open.onsuccess = () => {
              const tx = open.result.transaction('session', 'readwrite');
              const table = tx.objectStore('session');
              const current = table.get(verifierKey);
              current.onsuccess = () => {
                // Who she is, as the current verifier says; what proves her password, the earlier way.
                const { scheme: _scheme, ...identity } = current.result as Record<string, unknown>;
                table.put(
                  { ...identity, salt: base64(verifierSalt), hash: base64(new Uint8Array(hash)) },
                  verifierKey,
                );
                table.put(
                  {
                    salt: base64(sealSalt),
                    iterations: rounds,
                    sealed: base64(new Uint8Array([...iv, ...sealed])),
                  },
                  `records-key:${tenant}/${userId}`,
                );
              };
              tx.oncomplete = () => {
                open.result.close();
                resolve();
              };
              tx.onerror = () => reject(tx.error);
            };
          });
        },
        {
          typed: password,
          token: session.token,
          tenant: session.tenant,
          userId: session.userId,
          email: 'midwife@clinic-a.test',
        },
      );
      const earlier = await keptUnderPassword(page);
      expect(earlier.verifier?.scheme).toBeUndefined();
      expect(earlier.seal?.scheme).toBeUndefined();

      // In the field: the earlier verifier checks her password, and the earlier seal opens her records.
      await signOut(page);
      await setNetwork(suite.clinic, page, false);
      const beforeOffline = stretches();
      await submitSignIn(page, 'midwife@clinic-a.test');
      await page.getByText('Signed in on this device without the network').waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
      await page.getByRole('link', { name: 'Tamanda Zulu' }).waitFor();
      // Each kept the earlier way stretched the password on its own.
      expect(stretches() - beforeOffline).toBe(2);

      // Back in the clinic, her next sign-in with the network keeps both from one stretching.
      await signOut(page);
      await setNetwork(suite.clinic, page, true);
      await submitSignIn(page, 'midwife@clinic-a.test');
      await page.getByRole('button', { name: 'New patient' }).waitFor();
      const renewed = await verifierWritten(page, earlier.verifier?.signedInAt);
      expect(renewed.verifier?.scheme).toBe(2);
      expect(renewed.seal?.scheme).toBe(2);
      expect(renewed.verifier?.salt).toBe(renewed.seal?.salt);

      // And it opens her records offline with one stretching.
      await setNetwork(suite.clinic, page, false);
      await page.reload();
      const beforeLocked = stretches();
      await openLockedRecords(page);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
      await page.getByRole('link', { name: 'Tamanda Zulu' }).waitFor();
      expect(stretches() - beforeLocked).toBe(1);
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });
});
