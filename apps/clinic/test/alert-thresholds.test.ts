// A clinic's own alert thresholds on the Statistics page (decision 0042): an administrator makes
// "Check" come after one day without a sync, and a tablet silent for two days, which the usual
// three days leave alone, is listed under "Needs attention"; the setting is the server's, so a
// reload shows it still, and offline the page says they are the server's; a clinician gets no form.
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, clinicSuite, screenshot, setNetwork, signIn } from './clinic-fixture';

const hour = 60 * 60 * 1000;
const day = 24 * hour;

describe.runIf(chromiumAvailable())("the statistics page's alert thresholds", () => {
  const suite = clinicSuite();

  it('lists a tablet silent for two days once "Check" comes after one day, and keeps it so', async () => {
    // The midwife's tablet last synced two days (and an hour) ago.
    await suite.clinic.pushPatientFrom('midwife@clinic-a.test', 'midwife-tablet-7c1e0b42', {
      serverNow: Date.now() - 2 * day - hour,
    });

    const context = await suite.browser.newContext();
    const admin = await context.newPage();
    await signIn(admin, suite.clinic.url, 'admin@clinic-a.test');
    await admin.getByRole('link', { name: 'Statistics' }).click();
    const needs = admin.getByRole('region', { name: 'Needs attention' });
    const thresholds = admin.getByRole('region', { name: 'Alert thresholds' });
    // The usual thresholds: two days is a weekend in the field, not a reason to look.
    await needs.getByText('All devices are syncing normally.').waitFor();
    await thresholds.getByText('These are the usual thresholds.').waitFor();
    expect(await thresholds.getByRole('listitem').first().innerText()).toBe(
      'Check when it has not synced for more than 3 days; Urgent after more than 7 days.',
    );

    const form = admin.getByRole('form', { name: 'Change the alert thresholds' });
    const check = form.getByLabel('Days without a sync before “Check”');
    const urgent = form.getByLabel('Days without a sync before “Urgent”');
    expect(await check.inputValue()).toBe('3');
    expect(await form.getByLabel('Failed changes above (% of the last 7 days)').inputValue()).toBe('10');
    expect(await form.getByLabel('Open conflicts from one device, at least').inputValue()).toBe('1');
    expect(await form.getByLabel('Changes took to arrive (median) above, in hours').inputValue()).toBe('24');

    // Values the server would refuse are refused on the page, each with what to enter.
    await check.fill('soon');
    await form.getByLabel('Open conflicts from one device, at least').fill('0');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('Not saved: correct the values marked above.').waitFor();
    await form.getByText('Enter a number of days from 0.05 (about an hour) to 365.').waitFor();
    await form.getByText('Enter a whole number from 1 to 1000.').waitFor();
    expect(await check.getAttribute('aria-invalid')).toBe('true');
    await check.fill('8');
    await form.getByLabel('Open conflicts from one device, at least').fill('1');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('“Urgent” cannot come before “Check”: enter 8 days or more.').waitFor();
    await thresholds.getByText('These are the usual thresholds.').waitFor();

    await check.fill('1');
    await urgent.fill('7');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('Saved. “Needs attention” uses these thresholds now.').waitFor();
    const item = needs.getByRole('listitem').filter({ hasText: 'midwife@clinic-a.test' });
    await item.waitFor();
    expect(await item.innerText()).toMatch(
      /^Check\s+midwife@clinic-a\.test, device midwife-tablet-7…: has not synced for 2 days \(last sync .+ UTC\)/i,
    );
    expect(await needs.getByRole('listitem').count()).toBe(1);
    await thresholds.getByText(/^Set for this clinic by admin@clinic-a\.test on .+ UTC\.$/).waitFor();
    expect(await thresholds.getByRole('listitem').first().innerText()).toBe(
      'Check when it has not synced for more than 1 day; Urgent after more than 7 days.',
    );
    await screenshot(admin, 'statistics-alert-thresholds');

    // Kept on the server: a reload reads it back, and judges by it.
    await admin.reload();
    await item.waitFor();
    await thresholds.getByText(/^Set for this clinic by admin@clinic-a\.test/).waitFor();
    await expect.poll(() => check.inputValue()).toBe('1');
    expect(await urgent.inputValue()).toBe('7');

    // Offline, the page says where the thresholds are kept and offers no change it could not send.
    await setNetwork(suite.clinic, admin, false);
    await thresholds.getByText('The thresholds are kept on the server: connect to change them.').waitFor();
    expect(await form.count()).toBe(0);
    await setNetwork(suite.clinic, admin, true);
    await form.waitFor();

    // Back to the defaults: the two days are a weekend again.
    await form.getByRole('button', { name: 'Back to the defaults' }).click();
    await form.getByText('Back to the defaults. “Needs attention” uses them now.').waitFor();
    await needs.getByText('All devices are syncing normally.').waitFor();
    expect(await check.inputValue()).toBe('3');
    await thresholds.getByText('These are the usual thresholds.').waitFor();

    // The audit log says who changed them, in words.
    await admin.getByRole('link', { name: 'Audit log' }).click();
    const log = admin.getByRole('table', { name: 'Audit events' });
    await log.getByText('Alert thresholds back to the defaults', { exact: true }).waitFor();
    await log.getByText('Alert thresholds changed', { exact: true }).waitFor();
    await context.close();
  });

  it('gives a clinician no form: the thresholds are for administrators', async () => {
    const context = await suite.browser.newContext();
    const nurse = await context.newPage();
    await signIn(nurse, suite.clinic.url, 'nurse@clinic-a.test');
    expect(await nurse.getByRole('link', { name: 'Statistics' }).count()).toBe(0);
    // By its address: the server refuses her the figures and the thresholds, and the page offers nothing to change.
    await nurse.goto(`${suite.clinic.url}/statistics`);
    await nurse
      .getByText('Could not read the alert thresholds: alert thresholds are for administrators')
      .waitFor();
    expect(await nurse.getByRole('form', { name: 'Change the alert thresholds' }).count()).toBe(0);
    expect(await nurse.getByRole('button', { name: 'Save' }).count()).toBe(0);
    await context.close();
  });
});
