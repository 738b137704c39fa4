// The People page (decision 0044): the clinic's administrator adds a community health worker with a
// first password, and she signs in on her own tablet, choosing her own password first (0047); the administrator disables her, and her open
// tablet is asked to sign in again and cannot; enabled again, she can. The server's refusals are
// shown in words; offline the page says people are managed on the server; a clinician has no People
// link.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  screenshot,
  setNetwork,
  signIn,
  statusText,
  submitSignIn,
} from './clinic-fixture';

const chwEmail = 'chisomo@clinic-a.test';
const chwPassword = 'chisomo first password';
/** The one she chooses at her first sign-in (decision 0047). */
const chwOwnPassword = 'only chisomo knows this';

/** Signs in through the sign-in page with a password of one's own, as the new person does. */
async function signInAs(page: Page, url: string, email: string, password: string): Promise<void> {
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  await submitSignIn(page, email, password);
}

describe.runIf(chromiumAvailable())('the People page', () => {
  const suite = clinicSuite();

  it('an administrator adds a person who signs in, then disables her: her tablet asks for the password and refuses it', async () => {
    const adminContext = await suite.browser.newContext();
    const chwContext = await suite.browser.newContext();
    try {
      const admin = await adminContext.newPage();
      await signIn(admin, suite.clinic.url, 'admin@clinic-a.test');
      await admin.getByRole('link', { name: 'People' }).click();
      await admin.getByRole('heading', { level: 1, name: 'People' }).waitFor();
      const people = admin.getByRole('table', { name: 'People' });
      await people.getByRole('cell', { name: 'nurse@clinic-a.test', exact: true }).waitFor();
      const row = (email: string) => people.getByRole('row').filter({ hasText: email });
      expect(await row('admin@clinic-a.test').innerText()).toContain('Administrator');
      expect(await row('nurse@clinic-a.test').innerText()).toContain('Clinician');
      expect(await row('nurse@clinic-a.test').innerText()).toContain('Active');

      // A password too short is refused on the server's word, and nobody is added.
      const add = admin.getByRole('form', { name: 'Add a person' });
      await add.getByLabel('Email').fill(chwEmail);
      await add.getByLabel('Role').selectOption({ label: 'Clinician' });
      await add.getByLabel('First password').fill('short');
      await add.getByRole('button', { name: 'Add' }).click();
      await add.getByText('Not added: password must be at least 12 characters').waitFor();
      expect(await row(chwEmail).count()).toBe(0);
      // An email someone already signs in with.
      await add.getByLabel('Email').fill('nurse@clinic-a.test');
      await add.getByLabel('First password').fill(chwPassword);
      await add.getByRole('button', { name: 'Add' }).click();
      await add.getByText('Not added: someone already signs in with this email').waitFor();

      await add.getByLabel('Email').fill(chwEmail);
      await add.getByLabel('First password').fill(chwPassword);
      await add.getByRole('button', { name: 'Add' }).click();
      await add
        .getByText(
          `Added ${chwEmail} as Clinician. Tell them their password: they choose their own when they first sign in.`,
        )
        .waitFor();
      expect(await row(chwEmail).innerText()).toContain('Active, own password not chosen yet');
      await screenshot(admin, 'people-added');

      // She signs in on her own tablet with the password she was told, and must choose her own
      // before any record opens: two new ones that differ, then a wrong current one, are refused.
      const chw = await chwContext.newPage();
      await signInAs(chw, suite.clinic.url, chwEmail, chwPassword);
      await chw.getByRole('heading', { level: 1, name: 'Choose your own password' }).waitFor();
      expect(await chw.getByRole('link', { name: 'Patients' }).count()).toBe(0);
      const choose = chw.getByRole('form', { name: 'Change password' });
      await choose.getByLabel('Current password').fill(chwPassword);
      await choose.getByLabel('New password', { exact: true }).fill(chwOwnPassword);
      await choose.getByLabel('New password again').fill(`${chwOwnPassword}!`);
      await choose.getByRole('button', { name: 'Choose this password' }).click();
      await choose.getByText('The two new passwords differ: type the same one twice.').waitFor();
      await choose.getByLabel('Current password').fill('not what she was told');
      await choose.getByLabel('New password again').fill(chwOwnPassword);
      await choose.getByRole('button', { name: 'Choose this password' }).click();
      await choose.getByText('the current password is wrong').waitFor();
      // Twelve characters, but the first a guesser tries (decision 0053): refused, saying why.
      await choose.getByLabel('Current password').fill(chwPassword);
      await choose.getByLabel('New password', { exact: true }).fill('123456789012');
      await choose.getByLabel('New password again').fill('123456789012');
      await choose.getByRole('button', { name: 'Choose this password' }).click();
      await choose
        .getByText(
          'password is too easy to guess: This is a commonly used password. Add more words that are less common.',
        )
        .waitFor();
      await screenshot(chw, 'people-choose-password');
      // A reload keeps her on the page: nothing opens on the office's password.
      await chw.reload();
      await chw.getByRole('heading', { level: 1, name: 'Choose your own password' }).waitFor();
      await choose.getByLabel('Current password').fill(chwPassword);
      await choose.getByLabel('New password', { exact: true }).fill(chwOwnPassword);
      await choose.getByLabel('New password again').fill(chwOwnPassword);
      await choose.getByRole('button', { name: 'Choose this password' }).click();
      await statusText(chw, 'Online').waitFor();
      await chw.getByText(/^Last synced at/).waitFor();
      expect(await chw.getByRole('link', { name: 'People' }).count()).toBe(0);

      // An administrator may not disable themselves: the server's refusal, in words.
      await admin.getByRole('button', { name: 'Change admin@clinic-a.test' }).click();
      const self = admin.getByRole('region', { name: 'Change admin@clinic-a.test' });
      admin.once('dialog', (dialog) => void dialog.accept());
      await self.getByRole('button', { name: 'Disable' }).click();
      await self.getByText('Not changed: you cannot disable yourself: ask another administrator').waitFor();
      await self.getByRole('button', { name: 'Close' }).click();

      await admin.getByRole('button', { name: `Change ${chwEmail}` }).click();
      const her = admin.getByRole('region', { name: `Change ${chwEmail}` });
      await her.getByText('Signs them out on every device, and they can no longer sign in.').waitFor();
      // Asked first: "Cancel" changes nothing.
      const question = new Promise<string>((resolve) =>
        admin.once('dialog', (dialog) => {
          resolve(dialog.message());
          void dialog.dismiss();
        }),
      );
      await her.getByRole('button', { name: 'Disable' }).click();
      expect(await question).toBe(
        `Disable ${chwEmail}? They are signed out on every device and can no longer sign in, until you enable them again.`,
      );
      expect(await row(chwEmail).innerText()).toContain('Active');
      admin.once('dialog', (dialog) => void dialog.accept());
      await her.getByRole('button', { name: 'Disable' }).click();
      await her
        .getByText(
          `${chwEmail} is disabled and was signed out on every device. The audit log keeps their name.`,
        )
        .waitFor();
      expect(await row(chwEmail).innerText()).toMatch(/Disabled since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

      // Her open tablet: its next sync is refused, it asks for her password, and refuses it.
      await chw.getByRole('button', { name: 'Sync now' }).first().click();
      const again = chw.getByRole('form', { name: 'Sign in again' });
      await again.waitFor();
      await again.getByLabel(`Password for ${chwEmail}`).fill(chwOwnPassword);
      await again.getByRole('button', { name: 'Sign in again' }).click();
      await again.getByText('email or password is wrong').waitFor();
      await screenshot(chw, 'people-disabled-tablet');

      // Enabled again, the same password lets her in.
      await her.getByRole('button', { name: 'Enable' }).click();
      await her.getByText(`${chwEmail} is enabled: they can sign in with their password.`).waitFor();
      expect(await row(chwEmail).innerText()).toContain('Active');
      await again.getByLabel(`Password for ${chwEmail}`).fill(chwOwnPassword);
      await again.getByRole('button', { name: 'Sign in again' }).click();
      await again.waitFor({ state: 'detached' });
      await chw.getByText(/^Last synced at/).waitFor();

      // The audit log names her, by email.
      await admin.getByRole('link', { name: 'Audit log' }).click();
      await admin.getByText('Person changed: disabled').first().waitFor();
      await admin.getByText(`Person ${chwEmail}`).first().waitFor();

      // Offline, the page says the people are the server's.
      await admin.getByRole('link', { name: 'People' }).click();
      await people.getByRole('cell', { name: chwEmail, exact: true }).waitFor();
      await setNetwork(suite.clinic, admin, false);
      await admin.getByText('People are managed on the server: connect to add or change anyone.').waitFor();
      expect(await admin.getByRole('form', { name: 'Add a person' }).count()).toBe(0);
      await setNetwork(suite.clinic, admin, true);
    } finally {
      await adminContext.close();
      await chwContext.close();
    }
  });

  it('a clinician has no People link, and the page says it is for administrators', async () => {
    const context = await suite.browser.newContext();
    try {
      const nurse = await context.newPage();
      await signIn(nurse, suite.clinic.url, 'nurse@clinic-a.test');
      await nurse.getByRole('link', { name: 'Patients' }).waitFor();
      expect(await nurse.getByRole('link', { name: 'People' }).count()).toBe(0);
      await nurse.goto(`${suite.clinic.url}/people`);
      await nurse.getByText('The clinic’s people are managed by its administrators.').waitFor();
      expect(await nurse.getByRole('table', { name: 'People' }).count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
