// What a clinic administrator and a clinician see of the rules: two clinicians change the same
// field offline, the administrator settles it field by field in the resolution dialog and both
// devices then show the merged record; a signed note offers no way to change it, and an edit
// forged by hand is refused by the server.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  pushFromOffice,
  registerPatient,
  screenshot,
  statusText,
  storedSession,
  syncNow,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('conflicts and signed notes in the clinic app', () => {
  const suite = clinicSuite();
  async function openPatient(page: Page, name: string): Promise<void> {
    await page.getByRole('link', { name: 'Patients', exact: true }).click();
    await page.getByLabel('Search patients').fill(name);
    await page.getByRole('link', { name }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  }

  const details = (page: Page) => page.getByRole('form', { name: 'Patient details' });

  /**
   * Two clinicians change `name`'s village offline (the midwife also his phone): the nurse's
   * device syncs first, then the midwife's change meets hers and waits for a person.
   */
  async function villageConflict(name: string) {
    const nurse = await suite.device('nurse@clinic-a.test');
    await registerPatient(nurse.page, name, { Village: 'Mangochi' });
    await syncNow(nurse.page);

    const midwife = await suite.device('midwife@clinic-a.test');
    await openPatient(midwife.page, name);

    suite.clinic.cut(true);
    for (const d of [nurse, midwife]) await d.context.setOffline(true);
    await statusText(nurse.page, 'Offline').waitFor();
    await details(nurse.page).getByLabel('Village').fill('Monkey Bay');
    await details(nurse.page).getByRole('button', { name: 'Save' }).click();
    await details(midwife.page).getByLabel('Village').fill('Namwera');
    await details(midwife.page).getByLabel('Phone').fill('+265 991 000 111');
    await details(midwife.page).getByRole('button', { name: 'Save' }).click();
    await midwife.page.getByText('1 change waiting').waitFor();

    suite.clinic.cut(false);
    await nurse.context.setOffline(false);
    await statusText(nurse.page, 'Online').waitFor({ timeout: 25_000 });
    await syncNow(nurse.page);
    await midwife.context.setOffline(false);
    await statusText(midwife.page, 'Online').waitFor({ timeout: 25_000 });
    await syncNow(midwife.page);
    await midwife.page.getByText('1 conflict to resolve').waitFor();
    return { nurse, midwife };
  }

  /** The administrator's device, with the resolution dialog of the conflict over `name` open. */
  async function adminResolving(name: string) {
    const admin = await suite.device('admin@clinic-a.test');
    await admin.page.getByRole('link', { name: 'Conflicts' }).click();
    // By its row: a test that failed before may have left another conflict open.
    await admin.page
      .getByRole('row')
      .filter({ hasText: name })
      .getByRole('button', { name: 'Resolve' })
      .click();
    const dialog = admin.page.getByRole('dialog');
    await dialog.waitFor();
    return { admin, dialog };
  }

  /** The clinic's one record of `name` as the server holds it. */
  async function serverPatient(name: string): Promise<unknown> {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    const data = records.map((r) => JSON.parse(r.dataJson) as { name?: string });
    return data.find((d) => d.name === name);
  }

  /** The clinic's one record of `name` as the server holds it: id, version, whether deleted. */
  async function serverRecord(name: string) {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    const found = records.find((r) => (JSON.parse(r.dataJson) as { name?: string }).name === name);
    return found && { id: found.id, version: found.version, deleted: found.deleted };
  }

  it('lets the administrator merge two offline edits of one field, and both clinicians see the result', async () => {
    const { nurse, midwife } = await villageConflict('Joseph Phiri');
    // Her page shows the nurse's village, the server's, and says hers waits for a person.
    await midwife.page.getByText('Waiting for review: see Conflicts').waitFor();
    expect(await details(midwife.page).getByLabel('Village').inputValue()).toBe('Monkey Bay');
    // Her Conflicts page shows it, with nothing she could settle: the server refuses a clinician's choice.
    await midwife.page.getByRole('link', { name: 'Conflicts' }).click();
    await midwife.page.getByRole('button', { name: 'Review' }).waitFor();
    expect(await midwife.page.getByRole('button', { name: 'Resolve' }).count()).toBe(0);
    expect(await midwife.page.getByRole('button', { name: 'Use server for all' }).count()).toBe(0);

    const { admin, dialog } = await adminResolving('Joseph Phiri');
    // The local side is the midwife's tablet, not the administrator's, named as the app names
    // devices: its id cut to its start, as it has no name.
    expect(await dialog.locator('thead').first().innerText()).toMatch(
      /Local \(device browser-[0-9a-f-]{8}…\)/,
    );
    await screenshot(admin.page, '04-conflict-resolution-modal');
    // Field by field: the nurse's village (on the server) and the midwife's phone (her version).
    await dialog.getByRole('radiogroup', { name: 'village' }).getByLabel('Use server').check();
    await dialog.getByRole('radiogroup', { name: 'phone' }).getByLabel('Keep local').check();
    await dialog.getByRole('button', { name: 'Merge' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByText(/^Resolved/).waitFor();
    await screenshot(admin.page, '05-conflict-resolved');
    await dialog.getByRole('button', { name: 'Close' }).click();

    for (const page of [nurse.page, midwife.page]) {
      await syncNow(page);
      await openPatient(page, 'Joseph Phiri');
      const fields = details(page);
      await expect.poll(() => fields.getByLabel('Village').inputValue()).toBe('Monkey Bay');
      expect(await fields.getByLabel('Phone').inputValue()).toBe('+265 991 000 111');
    }
    // The midwife's sync brought the settlement too: nothing says her change still waits.
    await midwife.page.getByText('1 conflict to resolve').waitFor({ state: 'detached' });
    expect(await midwife.page.getByText('Waiting for review').count()).toBe(0);
    expect(await serverPatient('Joseph Phiri')).toEqual({
      name: 'Joseph Phiri',
      village: 'Monkey Bay',
      phone: '+265 991 000 111',
    });
  });

  it('offers the administrator the value now when a choice would overwrite an edit made since', async () => {
    const { nurse } = await villageConflict('Mphatso Gondwe');
    // After the conflict, and before anyone settles it, the nurse moves him once more.
    await details(nurse.page).getByLabel('Village').fill('Chilumba');
    await details(nurse.page).getByRole('button', { name: 'Save' }).click();
    await syncNow(nurse.page);

    const { dialog } = await adminResolving('Mphatso Gondwe');
    await dialog.getByRole('button', { name: 'Keep local' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    // The midwife's village would overwrite Chilumba, which nobody has seen: refused, and said in
    // plain words (not the server's, which name the record by id and the choice by its wire name).
    await dialog
      .getByRole('alert')
      .getByText(
        'Not applied: someone changed village after this conflict, and that choice would overwrite that change.',
        { exact: false },
      )
      .waitFor();
    await dialog.getByText('Changed after this conflict: village.').waitFor();
    expect(await dialog.getByRole('columnheader', { name: 'Now' }).count()).toBe(1);
    expect(
      await dialog.getByRole('radiogroup', { name: 'village' }).getByLabel('Keep current').isChecked(),
    ).toBe(true);
    expect(await serverPatient('Mphatso Gondwe')).toMatchObject({ village: 'Chilumba' });

    // The midwife's phone, the village as it is now.
    await dialog.getByRole('button', { name: 'Merge' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByText('Resolved: merged.').waitFor();
    expect(await serverPatient('Mphatso Gondwe')).toEqual({
      name: 'Mphatso Gondwe',
      village: 'Chilumba',
      phone: '+265 991 000 111',
    });
  });

  it('says when the record was deleted since the conflict, and offers only the choice that leaves it deleted', async () => {
    await villageConflict('Chisomo Banda');
    // After the conflict, and before anyone settles it, the office deletes him (registered twice, say).
    const before = await serverRecord('Chisomo Banda');
    expect(
      await pushFromOffice(suite.clinic, {
        type: 'delete',
        collection: 'patients',
        id: before?.id,
        baseVersion: before?.version,
      }),
    ).toBe('applied');

    const { admin, dialog } = await adminResolving('Chisomo Banda');
    await dialog.getByRole('button', { name: 'Keep local' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    // The midwife's version would bring him back: refused, and said in plain words.
    await dialog
      .getByRole('alert')
      .getByText(
        'Not applied: this record was deleted after this conflict, and that choice would bring it back.',
      )
      .waitFor();
    await dialog.getByText('Deleted since: someone deleted this record after this conflict.').waitFor();
    expect(await dialog.getByRole('button', { name: 'Keep local' }).isDisabled()).toBe(true);
    expect(await dialog.getByRole('button', { name: 'Merge' }).isDisabled()).toBe(true);
    expect(await dialog.getByRole('radio').count()).toBe(0);
    await screenshot(admin.page, '11-conflict-deleted-since');

    await dialog.getByRole('button', { name: 'Use server' }).click();
    await dialog.getByRole('heading', { name: 'Use server: the record stays deleted' }).waitFor();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByText('Resolved: server version kept.').waitFor();
    expect(await dialog.getByRole('alert').count()).toBe(0);
    // Left as the office's delete made it: no new version.
    expect(await serverRecord('Chisomo Banda')).toEqual({
      id: before?.id,
      version: (before?.version ?? 0) + 1,
      deleted: true,
    });
  });

  it('lets the administrator undo a resolution from the list once its dialog is closed', async () => {
    await villageConflict('Tiyamike Mbewe');
    const { admin, dialog } = await adminResolving('Tiyamike Mbewe');
    await dialog.getByRole('button', { name: 'Keep local' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByText('Resolved: local version kept.').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    expect(await serverPatient('Tiyamike Mbewe')).toMatchObject({ village: 'Namwera' });
    // Away to another page and back: the Undo is this sign-in's, not the dialog's or the page's.
    await admin.page.getByRole('link', { name: 'Patients', exact: true }).click();
    await admin.page.getByRole('link', { name: 'Conflicts' }).click();

    const row = admin.page.getByRole('row').filter({ hasText: 'Tiyamike Mbewe' });
    await row.getByText('resolved: local version kept').waitFor();
    await screenshot(admin.page, '12-conflict-undo-in-list');
    await row.getByRole('button', { name: 'Undo' }).click();
    await admin.page
      .getByText('Undid the resolution of patients “Tiyamike Mbewe”: it is open again.')
      .waitFor();
    await row.getByText('open', { exact: true }).waitFor();
    expect(await row.getByRole('button', { name: 'Undo' }).count()).toBe(0);
    // The focus is on the row's "Resolve", where Undo was, not lost to the page.
    expect(await admin.page.evaluate(() => document.activeElement?.textContent)).toBe('Resolve');
    expect(await serverPatient('Tiyamike Mbewe')).toEqual({ name: 'Tiyamike Mbewe', village: 'Monkey Bay' });

    // Settled again, so no conflict is left open for the tests after this one.
    await row.getByRole('button', { name: 'Resolve' }).click();
    await dialog.getByRole('button', { name: 'Use server' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByText('Resolved: server version kept.').waitFor();
  });

  it('shows a signed note read-only, and the server refuses an edit forged by hand', async () => {
    const nurse = await suite.device('nurse@clinic-a.test');
    const page = nurse.page;
    await registerPatient(page, 'Esther Mwale');
    await page.getByRole('button', { name: 'New encounter' }).click();
    await page.getByLabel('Diagnosis').fill('Hypertension review');
    await page.getByRole('button', { name: 'Save encounter' }).click();
    await page.getByRole('button', { name: 'New note' }).click();
    await page.getByLabel('Clinical note').fill('BP 150/95. Continue amlodipine 5 mg.');
    await page.getByRole('form', { name: 'New note' }).getByRole('button', { name: 'Save draft' }).click();

    const draft = page.getByRole('form', { name: 'Draft note' });
    await draft.getByLabel('Draft note').fill('BP 150/95. Continue amlodipine 5 mg. Review in 4 weeks.');
    await draft.getByRole('button', { name: 'Sign note' }).click();
    const signed = page.getByRole('figure', { name: 'Signed note' });
    await signed.waitFor();
    expect(await signed.innerText()).toContain('Review in 4 weeks.');
    // Nothing on the page can change it: no draft form, no text box holding its words.
    expect(await page.getByRole('form', { name: 'Draft note' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign note' }).count()).toBe(0);
    expect(await signed.getByRole('textbox').count()).toBe(0);
    await screenshot(page, '06-signed-note');
    await syncNow(page);

    const [note] = (await suite.clinic.app.outpost.store.pull('clinic-a', 0, 100, ['clinicalNotes'])).records;
    expect(note).toBeDefined();
    const before = note?.dataJson;
    // A forged edit: the signed-in user's own token, a well-formed push, sent from the page by hand.
    const token = (await storedSession(page))?.token;
    const answer = await page.evaluate(
      async ({ id, version, token }) => {
        const res = await fetch('/v1/sync/push', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            clientId: 'forger',
            deviceId: 'forger',
            ops: [
              {
                opId: crypto.randomUUID(),
                type: 'update',
                collection: 'clinicalNotes',
                id,
                baseVersion: version,
                data: { body: 'BP normal. Stop amlodipine.' },
              },
            ],
          }),
        });
        return { status: res.status, body: (await res.json()) as { results: Array<{ status: string }> } };
      },
      { id: note?.id ?? '', version: note?.version ?? 0, token: token ?? '' },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.results[0]?.status).not.toBe('applied');
    const [after] = (await suite.clinic.app.outpost.store.pull('clinic-a', 0, 100, ['clinicalNotes']))
      .records;
    expect(after?.dataJson).toBe(before);
    expect(after?.version).toBe(note?.version);
    await syncNow(page);
    expect(await signed.innerText()).toContain('Continue amlodipine 5 mg. Review in 4 weeks.');
  });

  it('keeps an encounter the server refused, with its diagnosis, on the Sync details page of any device', async () => {
    const nurse = await suite.device('nurse@clinic-a.test');
    const page = nurse.page;
    await registerPatient(page, 'Grace Banda');
    await syncNow(page);

    // Offline, the nurse records a visit; meanwhile the office deletes the patient (a duplicate, say).
    await nurse.context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    await page.getByRole('button', { name: 'New encounter' }).click();
    await page.getByLabel('Diagnosis').fill('Cholera suspected, ORS started');
    await page.getByRole('button', { name: 'Save encounter' }).click();
    await page.getByText('1 change waiting').waitFor();
    const patient = (
      await suite.clinic.app.outpost.store.pull('clinic-a', 0, 100, ['patients'])
    ).records.find((r) => JSON.parse(r.dataJson).name === 'Grace Banda');
    expect(
      await pushFromOffice(suite.clinic, {
        type: 'delete',
        collection: 'patients',
        id: patient?.id,
        baseVersion: 1,
      }),
    ).toBe('applied');

    // Back online, the visit is refused: its patient is gone. It stays on the tablet, and the
    // Sync details page shows what the server kept of it.
    await nurse.context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByRole('button', { name: 'Sync now' }).and(page.locator(':enabled')).waitFor();
    // Refused for good, the visit no longer counts as waiting: the header says what became of it.
    await page.getByText('1 change refused by the server').waitFor();
    expect(await page.getByText('No changes waiting').isVisible()).toBe(true);
    const refusedRow = (p: Page) =>
      p
        .getByRole('table', { name: 'Refused changes' })
        .getByRole('row')
        .filter({ hasText: 'Cholera suspected' });
    await page.getByRole('link', { name: 'Sync details' }).click();
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh refused changes' }).click();
        return refusedRow(page).count();
      })
      .toBe(1);
    expect(await refusedRow(page).innerText()).toMatch(
      /create encounters[\s\S]*diagnosis: Cholera suspected, ORS started/,
    );
    await screenshot(page, '07-refused-changes');

    // Read, the nurse dismisses it on this tablet: no longer counted there, still in the archive.
    await refusedRow(page).getByRole('button', { name: 'Dismiss' }).click();
    await page.getByText('1 change refused by the server').waitFor({ state: 'detached' });
    expect(await refusedRow(page).getByRole('button', { name: 'Dismiss' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Refresh refused changes' }).click();
    expect(await refusedRow(page).count()).toBe(1);

    // The same nurse on another tablet: the archive is on the server, not on the first device.
    const other = await suite.device('nurse@clinic-a.test');
    await other.page.getByRole('link', { name: 'Sync details' }).click();
    await refusedRow(other.page).waitFor();
    expect(await refusedRow(other.page).innerText()).toContain('Cholera suspected, ORS started');
  });
  it('marks intake answers the server refused because the form was locked meanwhile, and keeps them', async () => {
    const nurse = await suite.device('nurse@clinic-a.test');
    const page = nurse.page;
    await registerPatient(page, 'Ruth Tembo');
    const intake = page.getByRole('form', { name: 'Intake form' });
    const heading = page.getByRole('heading', { level: 2, name: /Intake form/ });
    await intake.getByLabel('Main complaint').fill('Headache');
    await intake.getByRole('button', { name: 'Save intake form' }).click();
    await syncNow(page);
    expect(await heading.innerText()).toBe('Intake form');

    // Offline, the nurse adds to the answers: the form says they are not yet synced.
    await nurse.context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    await intake.getByLabel('Main complaint').fill('Headache and fever since Monday');
    await intake.getByRole('button', { name: 'Save intake form' }).click();
    await heading.getByText('Not yet synced').waitFor();

    // Meanwhile the office locks the form as it stood.
    const [form] = (
      await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['intakeForms'])
    ).records.filter((r) => JSON.parse(r.dataJson).answers?.complaint === 'Headache');
    expect(
      await pushFromOffice(suite.clinic, {
        type: 'update',
        collection: 'intakeForms',
        id: form?.id,
        baseVersion: form?.version,
        data: { isLocked: true },
      }),
    ).toBe('applied');

    // Back online, the answers are refused. The form shows what the server locked, and says the
    // nurse's answers did not go in; the header counts them until someone has read them.
    await nurse.context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByText('1 change refused by the server').waitFor();
    await heading.getByText('Refused by the server: see Sync details').waitFor();
    expect(await heading.innerText()).toContain('Locked');
    expect(await page.getByText('Headache', { exact: true }).count()).toBe(1);
    await screenshot(page, '09-refused-intake-answers');

    // What she typed is on Sync details. Once she dismisses it there, the form is plainly locked.
    await page.getByRole('link', { name: 'Sync details' }).click();
    const refused = page
      .getByRole('table', { name: 'Refused changes' })
      .getByRole('row')
      .filter({ hasText: 'Headache and fever since Monday' });
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh refused changes' }).click();
        return refused.count();
      })
      .toBe(1);
    await refused.getByRole('button', { name: 'Dismiss' }).click();
    await page.getByText('1 change refused by the server').waitFor({ state: 'detached' });
    await openPatient(page, 'Ruth Tembo');
    expect(await heading.innerText()).toBe('Intake form Locked');
    expect(await page.getByText('Headache', { exact: true }).count()).toBe(1);
  });
});
