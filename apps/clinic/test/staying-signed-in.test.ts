// Staying signed in with refresh tokens (decision 0032, its clinic app part): a nurse whose access
// token expired while she was away keeps working and syncing with no password asked, and the other
// tab does not take the refresh for a new sign-in; a session ended elsewhere asks for the password
// and keeps what waited; sign-out ends the session on the server; a tablet signed in by the
// previous version stays signed in, its token moved out of localStorage.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  password,
  registerPatient,
  screenshot,
  setNetwork,
  signIn,
  statusText,
  storedSession,
  users,
} from './clinic-fixture';

const hour = 60 * 60 * 1000;
const day = 24 * hour;
const quietMs = 3_000;

/** Records a visit with `diagnosis` on the patient page shown. */
async function addVisit(page: Page, diagnosis: string): Promise<void> {
  await page.getByRole('button', { name: 'New encounter' }).click();
  await page.getByLabel('Diagnosis').fill(diagnosis);
  await page.getByRole('button', { name: 'Save encounter' }).click();
  await page.getByRole('heading', { level: 3, name: new RegExp(diagnosis) }).waitFor();
}

/** What `outpost.session` holds in the page's localStorage, parsed. */
function keptInLocalStorage(page: Page): Promise<Record<string, unknown> | null> {
  return page.evaluate(() => JSON.parse(localStorage.getItem('outpost.session') ?? 'null') as never);
}

describe.runIf(chromiumAvailable())('staying signed in with refresh tokens', () => {
  const suite = clinicSuite();

  async function visitsWith(diagnosis: string) {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['encounters']);
    return records.filter((r) => (JSON.parse(r.dataJson) as { diagnosis?: string }).diagnosis === diagnosis);
  }

  /** Cuts the tablet off the network, and waits until it says so. */
  async function offline(page: Page): Promise<void> {
    await setNetwork(suite.clinic, page, false);
    await statusText(page, 'Offline').waitFor();
  }

  async function online(page: Page): Promise<void> {
    await setNetwork(suite.clinic, page, true);
  }

  it('syncs a visit with no password once her access token expired during days away, and a reload keeps her signed in', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Chisomo Kalua');
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    const signedIn = await storedSession(page);
    // A second tab of the app, waiting for the records the first holds: it hears of every sign-in
    // and sign-out through localStorage.
    const second = await context.newPage();
    second.setDefaultTimeout(15_000);
    await second.goto(suite.clinic.url);
    await second.getByText('open in another tab').waitFor();
    await second.evaluate(() => {
      const heard: string[] = [];
      (window as unknown as { heard: string[] }).heard = heard;
      window.addEventListener('storage', (event) => heard.push(String(event.key)));
    });

    // Three days away from the network; she records a visit meanwhile. Her access token (12 hours)
    // has expired by the server's clock when she is back; her refresh token (30 days) has not.
    await offline(page);
    await addVisit(page, 'Otitis media');
    await page.getByText('1 change waiting').waitFor();
    suite.clinic.setClockAhead(3 * day);
    try {
      const refreshes: string[] = [];
      page.on('request', (request) => {
        if (new URL(request.url()).pathname === '/v1/auth/refresh') refreshes.push(request.url());
      });
      await online(page);
      // The visit goes by itself, and nothing asks for her password.
      await page.getByText('No changes waiting').waitFor({ timeout: 25_000 });
      expect(await visitsWith('Otitis media')).toHaveLength(1);
      expect(await page.getByRole('form', { name: 'Sign in again' }).count()).toBe(0);
      expect(refreshes.length).toBeGreaterThan(0);
      // The renewed pair is stored for the tabs and the worker: a new token, a new refresh token.
      const renewed = await storedSession(page);
      expect(renewed?.token).not.toBe(signedIn?.token);
      expect(renewed?.refreshToken).toEqual(expect.any(String));
      expect(renewed?.refreshToken).not.toBe(signedIn?.refreshToken);
      // The other tab was not told of a sign-in: a refresh is not one. It still waits for the records.
      expect(await second.evaluate(() => (window as unknown as { heard: string[] }).heard)).toEqual([]);
      expect(await second.getByText('open in another tab').count()).toBe(1);
      await second.close();

      // A reload keeps her signed in, with the renewed token, and what she does next syncs too.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Chisomo Kalua' }).waitFor();
      await page.getByText('No changes waiting').waitFor();
      expect(await page.getByText(users[0].email).count()).toBe(1);
      await addVisit(page, 'Conjunctivitis');
      await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
      expect(await visitsWith('Conjunctivitis')).toHaveLength(1);
      await page.waitForTimeout(quietMs);
      expect(await page.getByRole('form', { name: 'Sign in again' }).count()).toBe(0);
      await screenshot(page, 'signed-in-after-token-expiry');
    } finally {
      suite.clinic.setClockAhead(0);
      suite.clinic.cut(false);
      await context.close();
    }
  });

  it('shows a role an admin gave her after the next refresh, with no new sign-in, in both tabs', async () => {
    const midwife = 'midwife@clinic-a.test';
    const setRoles = (roles: string[]) =>
      suite.clinic.app.outpost.store.db
        .updateTable('users')
        .set({ roles: JSON.stringify(roles) })
        .where('email', '=', midwife)
        .execute();
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, suite.clinic.url, midwife);
      const nav = page.getByRole('navigation', { name: 'Main' });
      await page.getByText(`${midwife} · clinician`).waitFor();
      expect(await nav.getByRole('link', { name: 'Statistics' }).count()).toBe(0);
      const second = await context.newPage();
      second.setDefaultTimeout(15_000);
      await second.goto(suite.clinic.url);
      await second.getByText('open in another tab').waitFor();

      // The clinic's admin makes her an administrator. Her token (12 hours) still says clinician;
      // half a day later, by the server's clock, it has expired, and the next sync refreshes it.
      await setRoles(['clinician', 'admin']);
      suite.clinic.setClockAhead(13 * hour);
      await page.getByRole('button', { name: 'Sync now' }).first().click();
      await page.getByText(`${midwife} · administrator`).waitFor({ timeout: 20_000 });
      await nav.getByRole('link', { name: 'Statistics' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sync statistics' }).waitFor();
      expect(await page.getByRole('form', { name: 'Sign in again' }).count()).toBe(0);
      // The other tab heard of it as the same person: still waiting for the records, not signed in anew.
      expect(await second.getByText('open in another tab').count()).toBe(1);
      await page.close();
      await second.getByText(`${midwife} · administrator`).waitFor({ timeout: 20_000 });
    } finally {
      suite.clinic.setClockAhead(0);
      await setRoles(['clinician']);
      await context.close();
    }
  });

  it("a tablet lost: the admin ends the nurse's sessions from Statistics, and the tablet is refused at once and asks for her password", async () => {
    const tablet = await suite.browser.newContext();
    const office = await suite.browser.newContext();
    try {
      const page = await tablet.newPage();
      await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
      await registerPatient(page, 'Mphatso Gondwe');
      await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });

      const admin = await office.newPage();
      await signIn(admin, suite.clinic.url, 'admin@clinic-a.test');
      await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Statistics' }).click();
      const form = admin.getByRole('form', { name: 'End sessions' });
      await form.getByLabel('End every session of').selectOption({ label: 'nurse@clinic-a.test' });
      admin.once('dialog', (dialog) => void dialog.accept());
      await form.getByRole('button', { name: 'End sessions' }).click();
      await form
        .getByRole('status')
        .filter({ hasText: /^Ended \d+ sessions? of nurse@clinic-a\.test\./ })
        .waitFor();
      // The clinic's audit log says who did it.
      await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
      await admin
        .getByText(/^Ended every session of another person, on every device \(\d+\)$/)
        .first()
        .waitFor();

      // Her access token, hours from expiring, is refused now, and the tablet cannot renew it: it
      // asks for the password, and keeps what was typed meanwhile.
      await addVisit(page, 'Scabies');
      await page.getByRole('form', { name: 'Sign in again' }).waitFor({ timeout: 25_000 });
      await page.getByText('1 change waiting').waitFor();
      expect(await visitsWith('Scabies')).toHaveLength(0);
    } finally {
      await tablet.close();
      await office.close();
    }
  });

  it('her tablet lost, she signs out on every device from another one: the lost tablet is refused at once and asks for her password', async () => {
    const lost = await suite.browser.newContext();
    const borrowed = await suite.browser.newContext();
    try {
      const page = await lost.newPage();
      await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
      await registerPatient(page, 'Alinafe Tembo');
      await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });

      const other = await borrowed.newPage();
      await signIn(other, suite.clinic.url, 'nurse@clinic-a.test');
      await other
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Sync details' })
        .click();
      other.once('dialog', (dialog) => void dialog.accept());
      await other.getByRole('button', { name: 'Sign out on every device' }).click();
      // Signed out where she pressed it too.
      await other.getByRole('form', { name: 'Sign in' }).waitFor();
      expect(await storedSession(other)).toBeNull();

      await addVisit(page, 'Impetigo');
      await page.getByRole('form', { name: 'Sign in again' }).waitFor({ timeout: 25_000 });
      expect(await visitsWith('Impetigo')).toHaveLength(0);
    } finally {
      await lost.close();
      await borrowed.close();
    }
  });

  it('asks for the password once her session was ended elsewhere, and then sends the visit typed before', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Dalitso Nyirenda');
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    const signedIn = await storedSession(page);
    expect(signedIn?.refreshToken).toEqual(expect.any(String));

    // Her session is ended elsewhere (its refresh token revoked on the server). Offline, she
    // records a visit, and 13 hours pass: her access token has expired too.
    await suite.clinic.logout(signedIn?.refreshToken ?? '');
    await offline(page);
    await addVisit(page, 'Tinea capitis');
    await page.getByText('1 change waiting').waitFor();
    suite.clinic.setClockAhead(13 * hour);
    try {
      await online(page);
      // Nothing can renew it: the app asks for her password, and the visit stays on the tablet.
      const again = page.getByRole('form', { name: 'Sign in again' });
      await again.getByText('has expired or was ended').waitFor({ timeout: 25_000 });
      expect(await again.innerText()).toContain(
        'The change waiting stays on this device until you sign in again.',
      );
      expect(await page.getByText('1 change waiting').isVisible()).toBe(true);
      expect(await visitsWith('Tinea capitis')).toHaveLength(0);
      // The refused refresh token is kept no longer.
      expect((await storedSession(page))?.refreshToken).toBeUndefined();

      // Her password: the same screen, the same records, and the visit goes.
      await again.getByLabel('Password for nurse@clinic-a.test').fill(password);
      await again.getByRole('button', { name: 'Sign in again' }).click();
      await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
      expect(await again.count()).toBe(0);
      await page.getByRole('heading', { level: 1, name: 'Dalitso Nyirenda' }).waitFor();
      expect(await visitsWith('Tinea capitis')).toHaveLength(1);
      // A new session, which renews itself again.
      const renewed = await storedSession(page);
      expect(renewed?.refreshToken).toEqual(expect.any(String));
      expect(renewed?.refreshToken).not.toBe(signedIn?.refreshToken);
    } finally {
      suite.clinic.setClockAhead(0);
      suite.clinic.cut(false);
      await context.close();
    }
  });

  it('ends the session on the server at sign-out; offline, it only forgets it on the tablet', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    const signedIn = await storedSession(page);
    expect(signedIn?.refreshToken).toEqual(expect.any(String));

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    // Gone from the tablet, and refused by the server from now on.
    await expect.poll(() => storedSession(page)).toBeNull();
    expect(await keptInLocalStorage(page)).toBeNull();
    await expect.poll(() => suite.clinic.refresh(signedIn?.refreshToken ?? '')).toBe(401);

    // Signed in again, then out with no network: the tablet forgets the session all the same.
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    const second = await storedSession(page);
    await offline(page);
    try {
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await expect.poll(() => storedSession(page)).toBeNull();
    } finally {
      await online(page);
    }
    // The server was not told, and nothing on the tablet can tell it later: the token lives on there
    // until it expires, held by no device.
    expect(await suite.clinic.refresh(second?.refreshToken ?? '')).toBe(200);
    await context.close();
  });

  it('keeps a tablet signed in by the previous version signed in after the update, its token moved out of localStorage', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(suite.clinic.url);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    // What the previous version kept at sign-in: the whole session in localStorage, and a copy for
    // the service worker in IndexedDB.
    const login = await suite.clinic.login('nurse@clinic-a.test');
    const previous = {
      token: login.token,
      expiresAt: login.expiresAt,
      email: 'nurse@clinic-a.test',
      userId: login.user.id,
      tenant: login.user.tenant,
      roles: login.user.roles,
    };
    const deviceId = 'browser-0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    await page.evaluate(
      async ({ previous, deviceId }) => {
        localStorage.setItem('outpost.deviceId', deviceId);
        localStorage.setItem('outpost.session', JSON.stringify(previous));
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const open = indexedDB.open('outpost-clinic-worker-session', 1);
          open.onupgradeneeded = () => open.result.createObjectStore('session');
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        const { token, expiresAt, tenant, userId } = previous;
        await new Promise((resolve, reject) => {
          const write = db.transaction('session', 'readwrite');
          write.objectStore('session').put({ token, expiresAt, tenant, userId, deviceId }, 'current');
          write.oncomplete = resolve;
          write.onerror = () => reject(write.error);
        });
        db.close();
      },
      { previous, deviceId },
    );

    // The update: the app opens signed in, as her, and syncs with the token it finds.
    await page.reload();
    await statusText(page, 'Online').waitFor();
    await page.getByText(/^Last synced at/).waitFor();
    expect(await page.getByText('nurse@clinic-a.test').count()).toBe(1);
    await registerPatient(page, 'Yankho Mvula');
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    expect(
      records.filter((r) => (JSON.parse(r.dataJson) as { name?: string }).name === 'Yankho Mvula'),
    ).toHaveLength(1);
    // The token is kept in one place now, where the worker reads it; localStorage says only who.
    expect(await keptInLocalStorage(page)).toEqual({
      email: 'nurse@clinic-a.test',
      userId: login.user.id,
      tenant: 'clinic-a',
      roles: ['clinician'],
    });
    expect(await storedSession(page)).toMatchObject({
      token: login.token,
      tenant: 'clinic-a',
      userId: login.user.id,
      deviceId,
      email: 'nurse@clinic-a.test',
    });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Yankho Mvula' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign in' }).count()).toBe(0);

    // That token came with no refresh token: once the server refuses it, the password is asked
    // once, and the session from then on renews itself.
    suite.clinic.setClockAhead(13 * hour);
    try {
      await page.getByRole('button', { name: 'Sync now' }).first().click();
      const again = page.getByRole('form', { name: 'Sign in again' });
      await again.getByLabel('Password for nurse@clinic-a.test').fill(password);
      await again.getByRole('button', { name: 'Sign in again' }).click();
      await expect.poll(async () => (await storedSession(page))?.refreshToken).toEqual(expect.any(String));
      await page.getByText(/^Last synced at/).waitFor();
    } finally {
      suite.clinic.setClockAhead(0);
      await context.close();
    }
  });
});
