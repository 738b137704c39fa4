// The names a clinic gives its tablets (decision 0056): a nurse names hers on Sync details, and the
// administrator reads that name, not `browser-01a2…`, on the Statistics page and in the audit log;
// the administrator names the midwife's silent tablet from the Statistics page (a name another
// tablet has is refused in the server's words), and "Needs attention" then says which tablet to
// look for; offline, the nurse's tablet still says its name and offers no change it could not send.
import { describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  clinicSuite,
  openLockedRecords,
  registerPatient,
  screenshot,
  setNetwork,
  syncNow,
} from './clinic-fixture';

const day = 24 * 60 * 60 * 1000;

describe.runIf(chromiumAvailable())('device names', () => {
  const suite = clinicSuite();

  it('names a tablet on Sync details and shows the name on Statistics and in the audit log', async () => {
    // The midwife's tablet last synced five days ago, by its id only.
    await suite.clinic.pushPatientFrom('midwife@clinic-a.test', 'midwife-tablet-7c1e0b42', {
      serverNow: Date.now() - 5 * day,
    });

    const { page: nurse } = await suite.device('nurse@clinic-a.test');
    await nurse.getByRole('link', { name: 'Sync details' }).click();
    const thisTablet = nurse.getByRole('region', { name: 'This tablet' });
    await thisTablet.getByText(/^No name yet\. Its id is browser-/).waitFor();
    const ownId = (await thisTablet.locator('code').innerText()).trim();
    await thisTablet.getByLabel('Name of this tablet').fill('  Ward 2 tablet ');
    await thisTablet.getByRole('button', { name: 'Save name' }).click();
    await thisTablet.getByRole('status').filter({ hasText: 'Named “Ward 2 tablet”.' }).waitFor();
    await thisTablet.getByText(`Named “Ward 2 tablet”. Its id is ${ownId}.`).waitFor();
    expect(await thisTablet.getByLabel('Name of this tablet').inputValue()).toBe('Ward 2 tablet');
    // A change sent from it, for the statistics and the audit log to list.
    await nurse.getByRole('link', { name: 'Patients' }).click();
    await registerPatient(nurse, 'Chisomo Named');
    await syncNow(nurse);

    const { page: admin } = await suite.device('admin@clinic-a.test');
    await admin.getByRole('link', { name: 'Statistics' }).click();
    const devices = admin.getByRole('table', { name: 'Devices' });
    const nurseRow = devices.getByRole('row').filter({ hasText: 'nurse@clinic-a.test' });
    await expect.poll(() => nurseRow.getByRole('cell').nth(1).innerText()).toMatch(/^Ward 2 tablet browser-/);
    expect(await nurseRow.getByTitle(ownId).count()).toBe(1);

    // The midwife's tablet is listed as silent, by its id, until it is named here.
    const needs = admin.getByRole('region', { name: 'Needs attention' });
    const silent = needs.getByRole('listitem').filter({ hasText: 'midwife@clinic-a.test' });
    await silent.waitFor();
    expect(await silent.innerText()).toMatch(/device midwife-tablet-7…: has not synced for 5 days/);
    const midwifeRow = devices.getByRole('row').filter({ hasText: 'midwife@clinic-a.test' });
    await midwifeRow.getByRole('button', { name: 'Name' }).click();
    const field = midwifeRow.getByLabel('Name of midwife-tablet-7c1e0b42');
    // Another tablet of the clinic has that name, whatever its letters' case: the server says so.
    await field.fill('ward 2 TABLET');
    await midwifeRow.getByRole('button', { name: 'Save name' }).click();
    await midwifeRow
      .getByRole('alert')
      .filter({ hasText: 'another device of this clinic is already named "ward 2 TABLET"' })
      .waitFor();
    await field.fill('Outreach tablet (blue case)');
    await midwifeRow.getByRole('button', { name: 'Save name' }).click();
    await midwifeRow.getByRole('button', { name: 'Rename' }).waitFor();
    await expect
      .poll(() => silent.innerText())
      .toMatch(/device Outreach tablet \(blue case\) midwife-tablet-7…: has not synced for 5 days/);
    // The chart names each device too: a label too long for its column is cut with an ellipsis,
    // whole in its tooltip, and none runs into its bar.
    const labels = admin.locator('figure.chart svg svg text');
    const midwifeLabel = labels.filter({ hasText: 'midwife@clinic-a.test' });
    expect(await midwifeLabel.locator('title').textContent()).toBe(
      'midwife@clinic-a.test · Outreach tablet (blue case)',
    );
    expect(await midwifeLabel.evaluate((t) => t.lastChild?.textContent)).toMatch(
      /^midwife@clinic-a\.test · Outr.*…$/,
    );
    const fits = await labels.evaluateAll((texts) =>
      texts.map((t) => {
        const text = t as SVGTextElement;
        const bar = text.closest('g')?.querySelector(':scope > rect');
        return text.getComputedTextLength() < Number(bar?.getAttribute('x'));
      }),
    );
    expect(fits.length).toBeGreaterThanOrEqual(3);
    expect(fits.every(Boolean)).toBe(true);
    await screenshot(admin, 'statistics-device-names');

    // The audit log: the nurse's change by her tablet's name, and the namings themselves.
    await admin.getByRole('link', { name: 'Audit log' }).click();
    const events = admin.getByRole('table', { name: 'Audit events' });
    const created = events.getByRole('row').filter({ hasText: 'New patient' });
    await created.first().waitFor();
    expect(await created.first().getByRole('cell').nth(2).innerText()).toMatch(/^Ward 2 tablet browser-/);
    await admin.getByLabel('What').selectOption({ label: 'Devices named or taken out of use' });
    await admin.getByRole('button', { name: 'Show' }).click();
    const namings = events.getByRole('row').filter({ hasText: 'Device named' });
    await expect.poll(() => namings.count()).toBe(2);
    expect(await namings.nth(0).innerText()).toMatch(
      /admin@clinic-a\.test\s+Device named\s+Device Outreach tablet \(blue case\) midwife-tablet-7…/,
    );
    expect(await namings.nth(1).innerText()).toMatch(
      /nurse@clinic-a\.test\s+Device named\s+Device Ward 2 tablet/,
    );
    await screenshot(admin, 'audit-log-device-names');
    // The device filter takes a name, in any case, as well as an id.
    await admin.getByLabel('What').selectOption({ label: 'Everything' });
    await admin.getByLabel('Device (name or id)').fill('ward 2 TABLET');
    await admin.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => events.getByRole('row').filter({ hasText: 'New patient' }).count()).toBe(1);
    const listed = await events
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.children[2]?.textContent));
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((device) => device?.startsWith('Ward 2 tablet'))).toBe(true);

    // Offline, the nurse's tablet still says its name, and its form cannot be sent.
    await nurse.getByRole('link', { name: 'Sync details' }).click();
    await setNetwork(suite.clinic, nurse, false);
    await nurse.reload();
    await openLockedRecords(nurse);
    await thisTablet.getByText(`Named “Ward 2 tablet”. Its id is ${ownId}.`).waitFor();
    await thisTablet.getByText('Naming a device needs the server: connect to save.').waitFor();
    expect(await thisTablet.getByRole('button', { name: 'Save name' }).isDisabled()).toBe(true);
    await screenshot(nurse, 'sync-details-this-tablet');
    await setNetwork(suite.clinic, nurse, true);
  });
});
