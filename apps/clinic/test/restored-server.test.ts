// The clinic's server restored from last night's backup, after a nurse had registered a patient on
// her tablet this morning and the server had acknowledged it: at her tablet's next sync the server
// says it was restored, the tablet gives the patient back (decision 0050), says so under the header
// until she has read it, and the midwife's tablet, signed in after the restore, finds the patient.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  deviceDatabase,
  registerPatient,
  screenshot,
  syncNow,
} from './clinic-fixture';

/** Whether the tablet's store still keeps the restore report (meta, in clear: no patient data). */
async function reportKept(page: Page): Promise<boolean> {
  const database = await deviceDatabase(page);
  return page.evaluate(
    (name) =>
      new Promise<boolean>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const get = db.transaction('meta').objectStore('meta').get('restore.report');
          get.onsuccess = () => {
            db.close();
            resolve(get.result !== undefined);
          };
          get.onerror = () => reject(get.error);
        };
      }),
    database,
  );
}

const notice = (page: Page) => page.getByRole('status').filter({ hasText: 'restored from a backup' });

describe.runIf(chromiumAvailable())('a tablet whose clinic server was restored from a backup', () => {
  const suite = clinicSuite();
  const backups = mkdtempSync(join(tmpdir(), 'outpost-clinic-backups-'));
  afterAll(() => rmSync(backups, { recursive: true, force: true }));

  it('gives back the patient registered after the backup, says so, and the clinic has her again', async () => {
    const { page: nurse } = await suite.device('nurse@clinic-a.test');
    await nurse.goto(`${suite.clinic.url}/patients`);
    await registerPatient(nurse, 'Amina Banda');
    await syncNow(nurse);
    const lastNight = join(backups, 'last-night.sqlite');
    await suite.clinic.backup(lastNight);

    // This morning: a patient registered and acknowledged by the server.
    await nurse.getByRole('link', { name: 'Patients', exact: true }).click();
    await registerPatient(nurse, 'Grace Phiri', { Village: 'Nkhata Bay' });
    await syncNow(nurse);
    await expect(notice(nurse).count()).resolves.toBe(0);

    // The server's disk fails; the office restores last night's backup. The tablet is out of reach
    // meanwhile, so that the restored server is seen without Grace before the tablet's own sync
    // (on the server's return, its live updates would otherwise reconnect and give her back first).
    await nurse.context().setOffline(true);
    await suite.clinic.restore(lastNight);
    const token = await suite.clinic.token('admin@clinic-a.test');
    expect(await patientsOnServer(suite.clinic.url, token)).not.toContain('Grace Phiri');
    await nurse.context().setOffline(false);

    // The nurse's next sync (the first may meet the connection to the server that was stopped).
    for (let tries = 0; (await notice(nurse).count()) === 0 && tries < 3; tries++) {
      await nurse.getByRole('button', { name: 'Sync now' }).and(nurse.locator(':enabled')).click();
      await notice(nurse)
        .waitFor({ timeout: 10_000 })
        .catch(() => undefined);
    }
    await expect(notice(nurse).textContent()).resolves.toMatch(
      /server was restored from a backup .* This tablet gave back one change the server had lost\./,
    );
    await screenshot(nurse, 'restored-server-notice');
    expect(await patientsOnServer(suite.clinic.url, token)).toEqual(['Amina Banda', 'Grace Phiri']);
    // Her tablet still shows Grace, nothing waiting to go.
    await nurse.getByRole('link', { name: 'Patients', exact: true }).click();
    await nurse.getByRole('link', { name: 'Grace Phiri' }).waitFor();
    await nurse.getByText('No changes waiting').waitFor();

    // The notice stays through later syncs, and the app opened again (as after a give-back its
    // service worker made with no tab open), until she has read it; then it stays gone.
    await syncNow(nurse);
    await expect(notice(nurse).count()).resolves.toBe(1);
    await nurse.reload();
    await expect(notice(nurse).textContent()).resolves.toMatch(/gave back one change the server had lost/);
    await notice(nurse).getByRole('button', { name: 'OK' }).click();
    await expect(notice(nurse).count()).resolves.toBe(0);
    // Read for good once the store no longer keeps it (its removal may wait behind a sync under way).
    await expect.poll(() => reportKept(nurse), { timeout: 10_000 }).toBe(false);
    await nurse.reload();
    await nurse.getByRole('link', { name: 'Patients', exact: true }).waitFor();
    await syncNow(nurse);
    await expect(notice(nurse).count()).resolves.toBe(0);

    // The midwife signs in on her tablet: Grace is there, with her village.
    const { page: midwife } = await suite.device('midwife@clinic-a.test');
    await midwife.goto(`${suite.clinic.url}/patients`);
    await midwife.getByRole('link', { name: 'Grace Phiri' }).click();
    const details = midwife.getByRole('form', { name: 'Patient details' });
    await expect.poll(() => details.getByLabel('Village').inputValue()).toBe('Nkhata Bay');
  });
});

/** The names of the clinic's patients as a pull from the start reads them on the server. */
async function patientsOnServer(url: string, token: string): Promise<string[]> {
  const res = await fetch(`${url}/v1/sync/pull?limit=1000&collections=patients`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const page = (await res.json()) as { changes: Array<{ deleted: boolean; data: { name: string } | null }> };
  return page.changes
    .filter((c) => !c.deleted)
    .map((c) => c.data?.name ?? '')
    .sort();
}
