// Signing in with no network (decision 0038): on a shared tablet in the field, a nurse who signed
// out can sign in again, on the same device, with no network, work on her records, and have what
// she typed sent once the network returns, without typing her password again. A wrong password,
// or someone who never signed in on that tablet, gets a clear refusal; five wrong passwords in a
// row end the offline sign-in until the next one with the network.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  password,
  registerPatient,
  screenshot,
  setNetwork,
  signIn,
  statusText,
  storedSession,
  submitSignIn,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app signing in with no network', () => {
  const suite = clinicSuite();

  async function patientsNamed(name: string) {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    return records.filter((r) => (JSON.parse(r.dataJson) as { name?: string }).name === name);
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('form', { name: 'Sign in' }).waitFor();
  }

  async function offline(page: Page): Promise<void> {
    await setNetwork(suite.clinic, page, false);
  }

  async function online(page: Page): Promise<void> {
    await setNetwork(suite.clinic, page, true);
  }

  it('signs her in on the tablet she used before, keeps what she types, and sends it when the network returns without asking again', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
      await registerPatient(page, 'Thoko Banda');
      await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
      await signOut(page);

      // Out in the field: no network at all.
      await offline(page);
      await submitSignIn(page, 'nurse@clinic-a.test', 'not-her-password');
      await page.getByText(/Wrong password\. .*4 tries left/).waitFor();
      // Someone who never signed in on this tablet cannot be checked here.
      await submitSignIn(page, 'midwife@clinic-a.test', password);
      await page.getByText(/has not signed in on this device .* needs the network/).waitFor();

      await submitSignIn(page, 'nurse@clinic-a.test', password);
      await page.getByText('Signed in on this device without the network').waitFor();
      await statusText(page, 'Offline').waitFor();
      // Her records are there, and she works on them.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
      await page.getByRole('link', { name: 'Thoko Banda' }).waitFor();
      await registerPatient(page, 'Kondwani Mbewe');
      await page.getByText('1 change waiting').waitFor();
      expect(await storedSession(page)).toBeNull();
      await screenshot(page, 'signed-in-offline');

      // The network returns: the server confirms her sign-in with what she typed this morning, and
      // the patient goes, with nothing asked.
      await online(page);
      await page.getByText('No changes waiting').waitFor({ timeout: 30_000 });
      expect(await patientsNamed('Kondwani Mbewe')).toHaveLength(1);
      expect(await page.getByRole('form', { name: 'Sign in again' }).count()).toBe(0);
      expect(await page.getByText('Signed in on this device without the network').count()).toBe(0);
      expect((await storedSession(page))?.refreshToken).toEqual(expect.any(String));
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });

  it('after five wrong passwords with no network, signing in needs the network again', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, suite.clinic.url, 'midwife@clinic-a.test');
      await signOut(page);
      await offline(page);
      for (const left of ['4 tries left', '3 tries left', '2 tries left', '1 try left']) {
        await submitSignIn(page, 'midwife@clinic-a.test', `guess-${left}`);
        await page.getByText(new RegExp(`Wrong password\\. .*${left}`)).waitFor();
      }
      await submitSignIn(page, 'midwife@clinic-a.test', 'one-guess-too-many');
      await page.getByText(/has not signed in on this device .* needs the network/).waitFor();
      // Her real password no longer opens anything without the network.
      await submitSignIn(page, 'midwife@clinic-a.test', password);
      await page.getByText(/has not signed in on this device .* needs the network/).waitFor();
      expect(await page.getByRole('button', { name: 'New patient' }).count()).toBe(0);

      // With the network, she signs in as ever, and may sign in offline again afterwards.
      await online(page);
      await submitSignIn(page, 'midwife@clinic-a.test', password);
      await page.getByRole('button', { name: 'New patient' }).waitFor();
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });
});
