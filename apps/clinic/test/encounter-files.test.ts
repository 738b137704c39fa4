// A photo attached to an encounter with no network: kept on the tablet at once, uploaded by the
// sync when the network returns, and held by the server byte for byte.
import { describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  clinicSuite,
  registerPatient,
  screenshot,
  signIn,
  statusText,
} from './clinic-fixture';

// A 1x1 PNG.
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

describe.runIf(chromiumAvailable())('files attached to an encounter in the clinic app', () => {
  const suite = clinicSuite();

  it('keeps a photo attached offline, uploads it when the network returns, and the server holds its bytes', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');

    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    await registerPatient(page, 'Chisomo Phiri');
    await page.getByRole('button', { name: 'New encounter' }).click();
    await page.getByLabel('Diagnosis').fill('Infected wound, left leg');
    await page.getByRole('button', { name: 'Save encounter' }).click();
    const encounter = page.getByRole('listitem').filter({
      has: page.getByRole('heading', { level: 3, name: /Infected wound/ }),
    });
    await encounter.waitFor();

    await encounter.getByLabel('Attach photo').setInputFiles({
      name: 'wound.png',
      mimeType: 'image/png',
      buffer: png,
    });
    const file = encounter.getByRole('listitem').filter({ hasText: 'wound.png' });
    await file.getByText('Waiting to upload').waitFor();
    // Offline, the photo opens from the tablet.
    const [opened] = await Promise.all([
      context.waitForEvent('page'),
      file.getByRole('button', { name: 'View' }).click(),
    ]);
    expect(opened.url()).toMatch(/^blob:/);
    await opened.close();
    await screenshot(page, 'encounter-file-waiting');

    suite.clinic.cut(false);
    await context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await file.getByText('Uploaded').waitFor({ timeout: 20_000 });
    await screenshot(page, 'encounter-file-uploaded');

    // The server lists the photo on the encounter and holds exactly the bytes the tablet had.
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 100, ['encounters']);
    const encounterId = records[0]?.id ?? '';
    const token = await suite.clinic.token('nurse@clinic-a.test');
    const headers = { authorization: `Bearer ${token}` };
    const listed = await fetch(
      `${suite.clinic.url}/v1/files?collection=encounters&recordId=${encodeURIComponent(encounterId)}`,
      { headers },
    );
    const { files } = (await listed.json()) as {
      files: Array<{ id: string; name: string; complete: boolean }>;
    };
    expect(files).toMatchObject([{ name: 'wound.png', contentType: 'image/png', complete: true }]);
    const content = await fetch(`${suite.clinic.url}/v1/files/${files[0]!.id}/content`, { headers });
    expect(content.status).toBe(200);
    expect(Buffer.from(await content.arrayBuffer()).equals(png)).toBe(true);
    await context.close();
  });

  it("deletes an uploaded photo of the wrong patient from the clinic's server, after a confirmation, offline too", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Wrong Patient');
    await page.getByRole('button', { name: 'New encounter' }).click();
    await page.getByLabel('Diagnosis').fill('Burn, right hand');
    await page.getByRole('button', { name: 'Save encounter' }).click();
    const encounter = page.getByRole('listitem').filter({
      has: page.getByRole('heading', { level: 3, name: /Burn, right hand/ }),
    });
    await encounter.waitFor();
    await encounter.getByLabel('Attach photo').setInputFiles({
      name: 'other patient.png',
      mimeType: 'image/png',
      buffer: png,
    });
    const file = encounter.getByRole('listitem').filter({ hasText: 'other patient.png' });
    await file.getByText('Uploaded').waitFor({ timeout: 20_000 });
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['encounters']);
    const encounterId = records.find((r) => r.dataJson.includes('Burn, right hand'))?.id ?? '';
    // Read from the server's database: the tablet's link to it is cut below, requests too.
    const listed = async () =>
      (
        await suite.clinic.app.outpost.store.db
          .selectFrom('files')
          .select('name')
          .where('tenant', '=', 'clinic-a')
          .where('collection', '=', 'encounters')
          .where('record_id', '=', encounterId)
          .execute()
      ).map((f) => f.name);
    expect(await listed()).toEqual(['other patient.png']);

    // Offline, the nurse deletes it: asked first, then shown as to be deleted, and kept on cancel.
    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    await file.getByRole('button', { name: 'Delete' }).click();
    const confirm = file.getByRole('group', { name: 'Delete other patient.png' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await file.getByText('Uploaded').waitFor();
    await file.getByRole('button', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete file' }).click();
    await file.getByText('To be deleted from the server at the next sync').waitFor();
    await screenshot(page, 'encounter-file-to-be-deleted');
    expect(await listed()).toEqual(['other patient.png']);

    // Back online, the sync deletes it from the server, and it leaves the encounter.
    suite.clinic.cut(false);
    await context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await file.waitFor({ state: 'detached', timeout: 20_000 });
    expect(await listed()).toEqual([]);
    await context.close();
  });
});
