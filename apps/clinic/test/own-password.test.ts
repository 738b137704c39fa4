// A person changes their own password on the "Password" page (decision 0047): offline it says the
// change needs the network; online, the tablet that changed it stays signed in and syncs, her
// other tablet asks for the new password and refuses the old one, and with no network the new
// password (not the old one) signs her in again on the tablet where she changed it.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  password,
  registerPatient,
  screenshot,
  setNetwork,
  statusText,
  submitSignIn,
  syncNow,
} from './clinic-fixture';

const nurseEmail = 'nurse@clinic-a.test';
const newPassword = 'the nurse chose this one';
const midwifeEmail = 'midwife@clinic-a.test';
const resetPassword = 'the office reset it to this';
const midwifeOwnPassword = 'the midwife chose this one';

async function fillPasswordForm(page: Page, current: string, next: string): Promise<void> {
  const form = page.getByRole('form', { name: 'Change password' });
  await form.getByLabel('Current password').fill(current);
  await form.getByLabel('New password', { exact: true }).fill(next);
  await form.getByLabel('New password again').fill(next);
  await form.getByRole('button', { name: 'Change password' }).click();
}

describe.runIf(chromiumAvailable())('a person changes their own password', () => {
  const suite = clinicSuite();

  it('the tablet that changed it syncs on; her other tablet asks for the new one; offline, only the new one signs her in', async () => {
    const { page: tablet } = await suite.device(nurseEmail);
    const { page: other } = await suite.device(nurseEmail);

    await tablet.getByRole('link', { name: 'Password' }).click();
    await tablet.getByRole('heading', { level: 1, name: 'Your password' }).waitFor();

    // No network: nothing can change, and what she typed is kept.
    await setNetwork(suite.clinic, tablet, false);
    await fillPasswordForm(tablet, password, newPassword);
    await tablet
      .getByText('The server cannot be reached: changing your password needs the network.')
      .waitFor();
    await setNetwork(suite.clinic, tablet, true);
    await statusText(tablet, 'Online').waitFor();

    // A wrong current password: the server's words, nothing changed.
    await fillPasswordForm(tablet, 'not her password', newPassword);
    await tablet.getByText('the current password is wrong').waitFor();

    await fillPasswordForm(tablet, password, newPassword);
    await tablet
      .getByText('Your password was changed. Use the new one from now on, here and on other devices.')
      .waitFor();
    await screenshot(tablet, 'own-password-changed');

    // This tablet stays signed in: a patient registered now reaches the server.
    await tablet.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
    await registerPatient(tablet, 'Chikondi Phiri');
    await syncNow(tablet);
    expect(await tablet.getByRole('form', { name: 'Sign in again' }).count()).toBe(0);
    const admin = await suite.clinic.login('admin@clinic-a.test');
    const pulled = await fetch(`${suite.clinic.url}/v1/sync/pull?collections=patients`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(await pulled.text()).toContain('Chikondi Phiri');

    // Her other tablet: its next sync is refused, and it asks for the password; the old one is refused.
    await other.getByRole('button', { name: 'Sync now' }).first().click();
    const again = other.getByRole('form', { name: 'Sign in again' });
    await again.waitFor();
    await again.getByLabel(`Password for ${nurseEmail}`).fill(password);
    await again.getByRole('button', { name: 'Sign in again' }).click();
    await again.getByText('email or password is wrong').waitFor();
    await again.getByLabel(`Password for ${nurseEmail}`).fill(newPassword);
    await again.getByRole('button', { name: 'Sign in again' }).click();
    await again.waitFor({ state: 'detached' });
    await other.getByRole('link', { name: 'Chikondi Phiri' }).waitFor();

    // Signed out, with no network: the tablet where she changed it knows the new password only.
    await tablet.getByRole('button', { name: 'Sign out', exact: true }).click();
    await tablet.getByRole('form', { name: 'Sign in' }).waitFor();
    await setNetwork(suite.clinic, tablet, false);
    await submitSignIn(tablet, nurseEmail, password);
    await tablet.getByText(/Wrong password\. .*4 tries left/).waitFor();
    await submitSignIn(tablet, nurseEmail, newPassword);
    await tablet.getByText('Signed in on this device without the network').waitFor();
    await tablet.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
    await tablet.getByRole('link', { name: 'Chikondi Phiri' }).waitFor();
    await setNetwork(suite.clinic, tablet, true);
  });

  it('a password an administrator resets while she types: she signs in again, chooses her own over the open page, and keeps what she typed', async () => {
    const { page: tablet } = await suite.device(midwifeEmail);
    await tablet.getByRole('button', { name: 'New patient' }).click();
    const form = tablet.getByRole('form', { name: 'New patient' });
    await form.getByLabel('Name').fill('Typed before the reset');

    // The office sets her a new password (she said she had forgotten hers): her sessions end.
    const admin = await suite.clinic.login('admin@clinic-a.test');
    const midwife = await suite.clinic.login(midwifeEmail);
    const reset = await fetch(`${suite.clinic.url}/v1/admin/users/${midwife.user.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ password: resetPassword }),
    });
    expect(reset.status).toBe(200);

    // Her tablet is refused at its next sync and asks for the password, over the page she types on.
    await tablet.getByRole('button', { name: 'Sync now' }).first().click();
    const again = tablet.getByRole('form', { name: 'Sign in again' });
    await again.getByLabel(`Password for ${midwifeEmail}`).fill(resetPassword);
    await again.getByRole('button', { name: 'Sign in again' }).click();
    const choose = tablet.getByRole('dialog', { name: 'Choose your own password' });
    await choose.waitFor();
    expect(await form.isVisible()).toBe(false);
    await choose.getByLabel('Current password').fill(resetPassword);
    await choose.getByLabel('New password', { exact: true }).fill(midwifeOwnPassword);
    await choose.getByLabel('New password again').fill(midwifeOwnPassword);
    await choose.getByRole('button', { name: 'Choose this password' }).click();
    await choose.waitFor({ state: 'detached' });

    // What she typed is there; saved, it reaches the server.
    expect(await form.getByLabel('Name').inputValue()).toBe('Typed before the reset');
    await form.getByRole('button', { name: 'Save' }).click();
    await tablet.getByRole('heading', { level: 1, name: 'Typed before the reset' }).waitFor();
    await syncNow(tablet);
    const pulled = await fetch(`${suite.clinic.url}/v1/sync/pull?collections=patients`, {
      headers: { authorization: `Bearer ${(await suite.clinic.login('admin@clinic-a.test')).token}` },
    });
    expect(await pulled.text()).toContain('Typed before the reset');
  });
});
