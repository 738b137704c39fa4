// One record's history in the clinic's audit log (decision 0035): an administrator opens a patient
// the nurse registered, edited and saw for a visit, follows "Audit log of this patient" and sees
// those three changes only (the visit's too), after a reload too, and saves them as a CSV file
// holding exactly those rows and nothing the patient's record says. A clinician, whom the server refuses the log, has no such link.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  registerPatient,
  screenshot,
  statusText,
  syncNow,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())("a record's history in the clinic app's audit log", () => {
  const suite = clinicSuite();
  /** The patient's id, from the address of their page. */
  const patientId = (page: Page) => decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? '');

  it("shows an administrator one patient's changes from their page, after a reload too, and saves them as CSV", async () => {
    const nurse = await suite.device('nurse@clinic-a.test');
    await registerPatient(nurse.page, 'Other Patient');
    const otherId = patientId(nurse.page);
    await nurse.page.getByRole('link', { name: 'All patients' }).click();
    await registerPatient(nurse.page, 'Chikondi History');
    const id = patientId(nurse.page);
    const details = nurse.page.getByRole('form', { name: 'Patient details' });
    await details.getByLabel('Village').fill('Mzuzu');
    await details.getByRole('button', { name: 'Save' }).click();
    await details.getByText('Saved on this device').waitFor();
    // A visit of hers: a record of its own that names her, in her history too.
    await nurse.page.getByRole('button', { name: 'New encounter' }).click();
    await nurse.page.getByLabel('Diagnosis').fill('Malaria');
    await nurse.page.getByRole('button', { name: 'Save encounter' }).click();
    await syncNow(nurse.page);

    const admin = await suite.device('admin@clinic-a.test', { acceptDownloads: true });
    await admin.page.getByRole('link', { name: 'Chikondi History' }).click();
    await admin.page.getByRole('heading', { level: 1, name: 'Chikondi History' }).waitFor();
    await admin.page.getByRole('link', { name: 'Audit log of this patient' }).click();
    await admin.page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    expect(new URL(admin.page.url()).search).toBe(`?collection=patients&record=${id}&related=yes`);

    const table = admin.page.getByRole('table', { name: 'Audit events' });
    const rows = table.locator('tbody tr');
    /** Whose history, then the rows as a person reads them: who, what happened, about what. */
    const shown = async () => ({
      whose: await admin.page.getByText('History of one record').textContent(),
      rows: await rows.evaluateAll((trs) =>
        trs.map((tr) => [1, 3, 4].map((i) => tr.children[i]?.textContent ?? '').join(' | ')),
      ),
    });
    await expect.poll(async () => (await shown()).rows.length).toBe(3);
    // The visit's id, as the table shows it: the admin's tablet names it, not the test.
    const visitId = ((await rows.first().textContent()) ?? '').match(/New visit (\S+)/)?.[1] ?? '';
    expect(visitId).toMatch(/^[0-9a-f-]{36}$/);
    const expected = {
      whose: `History of one record: the patient Chikondi History ${id}. With the record that names it (visits, notes, prescriptions, forms). Every record`,
      rows: [
        `nurse@clinic-a.test | Change applied | New visit ${visitId}`,
        `nurse@clinic-a.test | Change applied | Edit of patient ${id}`,
        `nurse@clinic-a.test | Change applied | New patient ${id}`,
      ],
    };
    await expect.poll(shown).toEqual(expected);
    expect((await table.textContent()) ?? '').not.toContain(otherId);
    const filters = admin.page.getByRole('form', { name: 'Audit filters' });
    await expect.poll(() => filters.getByLabel('Record id').inputValue()).toBe(id);
    await screenshot(admin.page, 'record-history');

    // A reload opens the same history: the filter is the page's address.
    await admin.page.reload();
    await admin.page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await expect.poll(shown).toEqual(expected);
    await expect.poll(() => filters.getByLabel('Kind of record').inputValue()).toBe('patients');

    // The file holds exactly the rows shown: the same times, people, devices and words.
    const [download] = await Promise.all([
      admin.page.waitForEvent('download'),
      admin.page.getByRole('button', { name: 'Save as CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^outpost-audit-clinic-a-\d{4}-\d{2}-\d{2}\.csv$/);
    await admin.page.getByText(`Saved 3 events in ${download.suggestedFilename()}.`).waitFor();
    const text = readFileSync(await download.path(), 'utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    // No cell here needs quoting (times, emails, device ids, words without commas): a plain split reads it.
    expect(text).not.toContain('"');
    const lines = text.slice(1).split('\r\n');
    expect(lines.at(-1)).toBe('');
    const [header, ...cells] = lines.slice(0, -1).map((line) => line.split(','));
    expect(header).toEqual([
      'When (UTC)',
      'Person',
      'Device',
      'Device name',
      'What happened',
      'About',
      'Record id',
      'Outcome',
    ]);
    const times = await table
      .locator('tbody time')
      .evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
    const devices = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[2]?.textContent ?? ''));
    expect(cells).toEqual([
      [times[0], 'nurse@clinic-a.test', devices[0], '', 'Change applied', 'New visit', visitId, 'applied'],
      [times[1], 'nurse@clinic-a.test', devices[1], '', 'Change applied', 'Edit of patient', id, 'applied'],
      [times[2], 'nurse@clinic-a.test', devices[2], '', 'Change applied', 'New patient', id, 'applied'],
    ]);
    // Who did what to which record: never what the record says.
    for (const typed of ['Chikondi', 'History', 'Mzuzu', 'Malaria', otherId])
      expect(text).not.toContain(typed);

    // Her own record alone, without the records that name her.
    await filters.getByLabel(/^With the records that name it/).uncheck();
    await filters.getByRole('button', { name: 'Show' }).click();
    await expect.poll(async () => (await shown()).rows).toEqual(expected.rows.slice(1));
    expect(new URL(admin.page.url()).search).toBe(`?collection=patients&record=${id}`);

    // Clearing the record shows everything again, the other patient too.
    await admin.page.getByRole('button', { name: 'Every record' }).click();
    await table.getByText(otherId).waitFor();
    expect(new URL(admin.page.url()).search).toBe('');
    await expect.poll(() => filters.getByLabel('Record id').inputValue()).toBe('');

    // Offline, nothing can be fetched to save: the button waits for the network and says so.
    await admin.context.setOffline(true);
    await statusText(admin.page, 'Offline').waitFor();
    await admin.page.getByText('The audit log comes from the server: connect to save it as CSV.').waitFor();
    expect(await admin.page.getByRole('button', { name: 'Save as CSV' }).isDisabled()).toBe(true);
    await admin.context.setOffline(false);
  });

  it("offers a clinician no audit log on a patient's page", async () => {
    const midwife = await suite.device('midwife@clinic-a.test');
    await registerPatient(midwife.page, 'Mphatso Clinician');
    await midwife.page.getByRole('form', { name: 'Patient details' }).waitFor();
    expect(await midwife.page.getByRole('link', { name: /audit log/i }).count()).toBe(0);
  });
});
