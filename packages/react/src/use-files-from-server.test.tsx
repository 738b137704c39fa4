// @vitest-environment happy-dom
// The page's origin is not the test server's: let its fetch reach the server as an app served by it would.
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// useFiles and the header's count against a real server: a colleague's photo listed when the view
// mounts, after a sync, and the moment the live stream says its upload ended; nothing asked
// offline, and a photo waiting counted beside the changes.
import { useState } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalFile, SyncClient, SyncClientOptions } from '@outpost/client';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import type { Rendered } from '../test/react-fixture';
import { CuttableFetch, startRealServer } from '../test/real-server';
import type { RealServer } from '../test/real-server';
import { recordUnhandledRejections } from '../test/unhandled-rejections';
import { OfflineIndicator, useFiles } from './index';

const KiB = 1024;
let server: RealServer;

beforeAll(async () => {
  server = await startRealServer({ maxFileBytes: 8 * KiB });
});
afterAll(() => server.close());
afterEach(cleanup);
const unhandled = recordUnhandledRejections();

function FileList({ recordId }: { recordId: string }) {
  const files = useFiles({ collection: 'patients', recordId });
  return (
    <ul>
      {files.map((f: LocalFile) => (
        <li key={f.id}>
          {f.name}: {f.state}, {f.chunksUploaded} of {f.chunkCount}, {f.origin}
          {f.held ? ', held' : ''};
        </li>
      ))}
    </ul>
  );
}

/** A tablet of clinic A signed in as `email`, on the real network unless `net` cuts it. */
async function tablet(email: string, net = new CuttableFetch(), extra: Partial<SyncClientOptions> = {}) {
  const token = await server.token(email);
  const client = await openClient({
    url: server.url,
    getToken: async () => token,
    fetch: net.fetch,
    fileChunkBytes: KiB,
    ...extra,
  });
  return { client, net };
}

/** Lets the client's requests and React's renders run until `done` holds (or `ms` have passed). */
async function until(done: () => boolean, ms = 2000): Promise<void> {
  await acting(async () => {
    for (const end = Date.now() + ms; !done() && Date.now() < end;)
      await new Promise((resolve) => setTimeout(resolve, 10));
  });
}

/** Long enough on loopback for a request the view should not make to have been made. */
const quietly = () => until(() => false, 200);

async function attach(client: SyncClient, recordId: string, name: string, size: number): Promise<LocalFile> {
  return acting(() =>
    client.files.attach(new Uint8Array(size).fill(name.length), { collection: 'patients', recordId, name }),
  );
}

describe('useFiles with the files other devices attached', () => {
  it("lists a colleague's photo when it mounts and after each sync, downloads it when opened, and never polls", async () => {
    const { client: nurse } = await tablet('nurse@clinic-a.test');
    const amina = await nurse.collection('patients').create({ name: 'Amina K.' });
    await attach(nurse, amina.id, 'wound.png', 2 * KiB + 10);
    expect((await nurse.sync()).success).toBe(true);

    const { client: doctor, net } = await tablet('admin@clinic-a.test');
    let view: Rendered | undefined;
    await acting(async () => {
      view = await render(doctor, <FileList recordId={amina.id} />);
    });
    const text = () => view?.text() ?? '';
    await until(() => text() !== '');
    expect(text()).toBe('wound.png: synced, 3 of 3, server;');
    expect(net.lists).toBe(1);

    // The nurse attaches another; the doctor's screen learns of it with the next sync, not before.
    await attach(nurse, amina.id, 'consent.pdf', 500);
    expect((await nurse.sync()).success).toBe(true);
    await quietly();
    expect(net.lists).toBe(1);
    await acting(() => doctor.sync());
    await until(() => text().includes('consent.pdf'));
    expect(text()).toBe('wound.png: synced, 3 of 3, server;consent.pdf: synced, 1 of 1, server;');
    expect(net.lists).toBe(2);

    // Opened: the bytes come now, and stay on this tablet.
    const [wound] = doctor.files.list({ collection: 'patients', recordId: amina.id });
    const blob = await acting(() => doctor.files.get(wound!.id));
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(new Uint8Array(2 * KiB + 10).fill(9));
    expect(text()).toBe('wound.png: synced, 3 of 3, server, held;consent.pdf: synced, 1 of 1, server;');
    // What it wrote asks for nothing more: one list per mount and per sync.
    await quietly();
    expect(net.lists).toBe(2);
  });

  it("lists a colleague's photo as whole the moment its upload ends, with no sync of its own", async () => {
    const { client: nurse } = await tablet('nurse@clinic-a.test');
    const amina = await nurse.collection('patients').create({ name: 'Amina K.' });
    expect((await nurse.sync()).success).toBe(true);

    // The doctor's tablet keeps the live stream open and has no timed sync.
    const { client: doctor, net } = await tablet('admin@clinic-a.test', new CuttableFetch(), {
      autoSync: { onReconnect: false, intervalMs: 0, live: true },
    });
    let syncs = 0;
    doctor.on('sync', () => (syncs += 1));
    let hide = () => {};
    function Shown() {
      const [shown, setShown] = useState(true);
      hide = () => setShown(false);
      return shown ? <FileList recordId={amina.id} /> : null;
    }
    const view = await render(doctor, <Shown />);
    // The stream's `ready` pulls once, and the list is asked for after that sync too.
    await until(() => syncs === 1 && !doctor.isSyncing && net.lists === 2);
    expect(syncs).toBe(1);
    expect(view.text()).toBe('');

    // The nurse's sync sends no record change, only the photo: the one thing the doctor's
    // tablet hears of is the file, whole.
    await attach(nurse, amina.id, 'wound.png', 2 * KiB + 10);
    expect(await acting(() => nurse.sync())).toMatchObject({
      success: true,
      pushed: { sent: 0 },
      files: { uploaded: 1 },
    });
    await until(() => view.text() !== '', 5000);
    expect(view.text()).toBe('wound.png: synced, 3 of 3, server;');
    expect(syncs).toBe(1);
    expect(net.lists).toBe(3);

    // Notices close together (files finishing at once) are one request.
    const token = await server.token('nurse@clinic-a.test');
    await Promise.all(
      ['a.txt', 'b.txt', 'c.txt', 'd.txt'].map((name) =>
        fetch(`${server.url}/v1/files/${crypto.randomUUID()}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            collection: 'patients',
            recordId: amina.id,
            name,
            contentType: 'text/plain',
            size: 0,
            sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
            chunkSize: KiB,
          }),
        }),
      ),
    );
    await until(() => (view.text().match(/synced/g) ?? []).length === 5, 5000);
    await quietly();
    expect(net.lists).toBe(4);
    expect(syncs).toBe(1);

    // Once the view is gone, a notice asks for nothing.
    await acting(async () => hide());
    await attach(nurse, amina.id, 'second look.png', 500);
    expect(await acting(() => nurse.sync())).toMatchObject({ success: true, files: { uploaded: 1 } });
    await until(() => false, 500);
    expect(net.lists).toBe(4);
  });

  it('asks nothing while offline, and lets a refusal or a lost link go without an error in the page', async () => {
    const { client: nurse } = await tablet('nurse@clinic-a.test');
    const grace = await nurse.collection('patients').create({ name: 'Grace M.' });
    await attach(nurse, grace.id, 'rash.png', 100);
    expect((await nurse.sync()).success).toBe(true);

    const offline = new CuttableFetch();
    offline.reachable = false;
    const { client: doctor } = await tablet('admin@clinic-a.test', offline, { events: new EventTarget() });
    await doctor.network.check();
    expect(doctor.network.status.online).toBe(false);
    const view = await render(doctor, <FileList recordId={grace.id} />);
    await acting(() => doctor.sync());
    await quietly();
    expect(offline.fileRequests).toEqual([]);
    expect(view.text()).toBe('');

    // Online, the link drops under the list: the list stays as it was, quietly.
    const dropping = new CuttableFetch();
    dropping.dropLists = true;
    const { client: other } = await tablet('admin@clinic-a.test', dropping);
    const otherView = await render(other, <FileList recordId={grace.id} />);
    await until(() => dropping.lists > 0);
    await quietly();
    expect(dropping.lists).toBe(1);
    expect(otherView.text()).toBe('');

    // A role that may not read patients is refused: nothing is listed, nothing is thrown at the page.
    const { client: porter, net } = await tablet('porter@clinic-a.test');
    const porterView = await render(porter, <FileList recordId={grace.id} />);
    await until(() => net.lists > 0);
    await quietly();
    expect(net.lists).toBe(1);
    expect(porterView.text()).toBe('');
    await unhandled.settle();
    expect(unhandled.reasons).toEqual([]);
  });
});

describe("OfflineIndicator's count of what waits", () => {
  it('counts photos attached offline beside the changes, until the server holds them or refuses them', async () => {
    const net = new CuttableFetch();
    net.reachable = false;
    const { client } = await tablet('nurse@clinic-a.test', net, { events: new EventTarget() });
    await client.network.check();
    const view = await render(
      client,
      <>
        <header>
          <OfflineIndicator fileWords={{ one: 'photo', many: 'photos' }} />
        </header>
        <footer>
          <OfflineIndicator />
        </footer>
      </>,
    );
    const header = () => view.container.querySelector('header')?.textContent ?? '';
    const footer = () => view.container.querySelector('footer')?.textContent ?? '';
    expect(header()).toContain('No changes waiting');

    const patient = await acting(() => client.collection('patients').create({ name: 'Chisomo P.' }));
    await attach(client, patient.id, 'wound.png', 3 * KiB);
    expect(header()).toContain('1 change and 1 photo waiting');
    // The library's own word, for apps that attach more than photos.
    expect(footer()).toContain('1 change and 1 file waiting');
    await attach(client, patient.id, 'too large.tiff', 9 * KiB);
    expect(header()).toContain('1 change and 2 photos waiting');

    net.reachable = true;
    await acting(() => client.network.check());
    expect(await acting(() => client.sync())).toMatchObject({
      success: true,
      files: { uploaded: 1, failed: 1 },
    });
    // The refused photo is not waiting: no sync sends it again (the encounter says why).
    expect(header()).toContain('No changes waiting');
    await attach(client, patient.id, 'second look.png', KiB);
    expect(header()).toContain('1 photo waiting');
    expect(header()).not.toContain('change');
  });
});
