// The clinic's audit log page (decision 0035): an administrator reads, in words, that the nurse
// signed in and that the visit her tablet sent was applied, filters by person, and reads nothing
// of what the records say; offline, the page says where the log comes from.
import { describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  clinicSuite,
  registerPatient,
  screenshot,
  statusText,
  syncNow,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the audit log page of the clinic app', () => {
  const suite = clinicSuite();
  it("shows an administrator the nurse's sign-in and her visit as readable rows, and filters by person", async () => {
    const nurse = await suite.device('nurse@clinic-a.test');
    await registerPatient(nurse.page, 'Thandiwe Audit');
    await nurse.page.getByRole('button', { name: 'New encounter' }).click();
    await nurse.page.getByLabel('Diagnosis').fill('Confidential Malaria');
    await nurse.page.getByRole('button', { name: 'Save encounter' }).click();
    await syncNow(nurse.page);

    const admin = await suite.device('admin@clinic-a.test');
    // Offline, the page says where the log comes from instead of showing an empty one.
    await admin.context.setOffline(true);
    await statusText(admin.page, 'Offline').waitFor();
    await admin.page.getByRole('link', { name: 'Audit log' }).click();
    await admin.page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await admin.page.getByText('The audit log comes from the server: connect to see it.').waitFor();
    await admin.context.setOffline(false);
    await statusText(admin.page, 'Online').waitFor();

    const table = admin.page.getByRole('table', { name: 'Audit events' });
    const rows = table.getByRole('row');
    const row = (...texts: string[]) => texts.reduce((found, text) => found.filter({ hasText: text }), rows);
    await row('nurse@clinic-a.test', 'Signed in').first().waitFor();
    await row('nurse@clinic-a.test', 'Change applied', 'New visit').waitFor();
    await row('nurse@clinic-a.test', 'Change applied', 'New patient').waitFor();
    await row('admin@clinic-a.test', 'Signed in').first().waitFor();
    // Newest first: the administrator's sign-in came after the nurse's visit.
    const words = await table.locator('tbody tr td:nth-child(4)').allTextContents();
    expect(words.indexOf('Signed in')).toBeLessThan(words.indexOf('Change applied'));
    // Who and what, never what the records say.
    const text = (await table.textContent()) ?? '';
    expect(text).not.toContain('Thandiwe');
    expect(text).not.toContain('Malaria');
    await screenshot(admin.page, 'audit-log');

    const filters = admin.page.getByRole('form', { name: 'Audit filters' });
    await filters.getByLabel('Person (email or user id)').fill('nurse@clinic-a.test');
    await filters.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => row('admin@clinic-a.test').count()).toBe(0);
    await row('nurse@clinic-a.test', 'Change applied', 'New visit').waitFor();
    const people = await table.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(new Set(people)).toEqual(new Set(['nurse@clinic-a.test']));

    await filters.getByLabel('What').selectOption({ label: 'Sign-ins and sign-outs' });
    await filters.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => row('Change applied').count()).toBe(0);
    await row('nurse@clinic-a.test', 'Signed in').first().waitFor();
  });
});
