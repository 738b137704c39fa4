// A photo a nurse attached on her tablet, seen by a colleague on another: listed on the encounter
// from the server, downloaded when viewed (the nurse's bytes exactly), and never offered "Try
// again"; on an encounter left open, shown as soon as its upload ends. And the header counting a
// photo that waits to upload beside the changes.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  nurseAndMidwife,
  registerPatient,
  screenshot,
  signIn,
  statusText,
} from './clinic-fixture';

// A 2x1 PNG: other bytes than a 1x1 one, so the bytes opened are known to be this photo's.
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAYAAAD0In+KAAAAEUlEQVR42mP8z8Dwn4GBgQEAGvQC/pDd3qoAAAAASUVORK5CYII=',
  'base64',
);

/** The encounter of `page`'s open patient whose heading names `diagnosis`. */
function encounterOf(page: Page, diagnosis: string) {
  return page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: diagnosis }) });
}

async function newEncounter(page: Page, diagnosis: string) {
  await page.getByRole('button', { name: 'New encounter' }).click();
  await page.getByLabel('Diagnosis').fill(diagnosis);
  await page.getByRole('button', { name: 'Save encounter' }).click();
  const encounter = encounterOf(page, diagnosis);
  await encounter.waitFor();
  return encounter;
}

describe.runIf(chromiumAvailable())("a colleague's photos on an encounter in the clinic app", () => {
  const suite = clinicSuite();

  it('lists the photo a nurse attached on her tablet, views it with her bytes, and says where it stands', async () => {
    const nurseContext = await suite.browser.newContext();
    const nurse = await nurseContext.newPage();
    await signIn(nurse, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(nurse, 'Thoko Banda');
    const visit = await newEncounter(nurse, 'Burn, right hand');
    await visit
      .getByLabel('Attach photo')
      .setInputFiles({ name: 'burn.png', mimeType: 'image/png', buffer: png });
    await visit
      .getByRole('listitem')
      .filter({ hasText: 'burn.png' })
      .getByText('Uploaded')
      .waitFor({ timeout: 20_000 });

    // The midwife opens the same visit on her tablet: the photo is listed from the server.
    const midwifeContext = await suite.browser.newContext();
    const midwife = await midwifeContext.newPage();
    await signIn(midwife, suite.clinic.url, 'midwife@clinic-a.test');
    await midwife.getByLabel('Search patients').fill('thoko');
    await midwife.getByRole('link', { name: 'Thoko Banda' }).click();
    const seen = encounterOf(midwife, 'Burn, right hand');
    const photo = seen.getByRole('listitem').filter({ hasText: 'burn.png' });
    await photo.getByText('On the server').waitFor();
    // Her own upload is the nurse's to try again, not hers.
    expect(await photo.getByRole('button', { name: 'Try again' }).count()).toBe(0);
    await screenshot(midwife, 'encounter-colleague-file-listed');

    const [opened] = await Promise.all([
      midwifeContext.waitForEvent('page'),
      photo.getByRole('button', { name: 'View' }).click(),
    ]);
    expect(opened.url()).toMatch(/^blob:/);
    const bytes = await opened.evaluate(async () =>
      Array.from(new Uint8Array(await (await fetch(location.href)).arrayBuffer())),
    );
    expect(Buffer.from(bytes).equals(png)).toBe(true);
    await opened.close();
    await photo.getByText('Saved on this tablet').waitFor();

    // Another tablet has declared a scan and sent none of it yet: "Sync now" brings it to the list.
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 100, ['encounters']);
    const encounterId = records.find((r) => r.dataJson.includes('Burn, right hand'))?.id ?? '';
    const token = await suite.clinic.token('nurse@clinic-a.test');
    const declared = await fetch(`${suite.clinic.url}/v1/files/scan-from-another-tablet`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        collection: 'encounters',
        recordId: encounterId,
        name: 'consent.pdf',
        contentType: 'application/pdf',
        size: 2048,
        sha256: 'a'.repeat(64),
        chunkSize: 1024,
      }),
    });
    expect(declared.status).toBe(200);
    await midwife.getByRole('button', { name: 'Sync now' }).click();
    const scan = seen.getByRole('listitem').filter({ hasText: 'consent.pdf' });
    await scan.getByText('Being uploaded from another tablet').waitFor({ timeout: 20_000 });
    expect(await scan.getByRole('button', { name: 'Try again' }).count()).toBe(0);
    await screenshot(midwife, 'encounter-colleague-file-uploading');

    await nurseContext.close();
    await midwifeContext.close();
  });

  it("shows the nurse's photo on the midwife's open encounter once uploaded, with no sync asked for and no reload", async () => {
    const { nurse, midwife, close } = await nurseAndMidwife(suite);
    await registerPatient(nurse, 'Chikondi Mwale');
    const visit = await newEncounter(nurse, 'Laceration, left knee');
    await nurse.getByText('No changes waiting').waitFor({ timeout: 20_000 });

    // The midwife has the visit open (it reached her through the live stream).
    await midwife.getByLabel('Search patients').fill('chikondi');
    await midwife.getByRole('link', { name: 'Chikondi Mwale' }).click();
    const seen = encounterOf(midwife, 'Laceration, left knee');
    await seen.waitFor({ timeout: 20_000 });
    // From here on her tablet neither syncs nor loads a page: only the live stream can bring the photo.
    const syncs: string[] = [];
    midwife.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path === '/v1/sync/pull' || path === '/v1/sync/push') syncs.push(path);
    });
    const loads: string[] = [];
    midwife.on('framenavigated', (frame) => loads.push(frame.url()));

    await visit
      .getByLabel('Attach photo')
      .setInputFiles({ name: 'knee.png', mimeType: 'image/png', buffer: png });
    await visit
      .getByRole('listitem')
      .filter({ hasText: 'knee.png' })
      .getByText('Uploaded')
      .waitFor({ timeout: 20_000 });
    // Her next timed sync is most of a minute away; the notice takes moments.
    const photo = seen.getByRole('listitem').filter({ hasText: 'knee.png' });
    await photo.getByText('On the server').waitFor({ timeout: 5_000 });
    expect(syncs).toEqual([]);
    expect(loads).toEqual([]);
    expect(await photo.getByRole('button', { name: 'Try again' }).count()).toBe(0);
    await screenshot(midwife, 'encounter-colleague-file-live');
    await close();
  });

  it('counts a photo waiting offline in the header beside the changes, until it is uploaded', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Mphatso Chirwa');
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });

    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    const visit = await newEncounter(page, 'Sprained ankle');
    await page.getByText('1 change waiting').waitFor();
    await visit
      .getByLabel('Attach photo')
      .setInputFiles({ name: 'ankle.png', mimeType: 'image/png', buffer: png });
    await page.getByText('1 change and 1 photo waiting').waitFor();
    await screenshot(page, 'header-photo-waiting');

    suite.clinic.cut(false);
    await context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    await visit.getByRole('listitem').filter({ hasText: 'ankle.png' }).getByText('Uploaded').waitFor();
    await context.close();
  });
});
