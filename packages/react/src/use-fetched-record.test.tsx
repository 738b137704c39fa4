// @vitest-environment happy-dom
// The page's origin is not the test server's: let its fetch reach the server as an app served by it would.
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// useFetchedRecord against a real server: a tablet keeping six months of visits shows a recent one
// from the device and a visit of 2019 from the server, tells loading, not found, unavailable and
// refused apart, reads again when the network returns (never in a loop), follows the record once a
// change puts it on the device, and drops an answer that comes after the screen moved on.
import { useState } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { RecordFilters, SyncClient, SyncClientOptions } from '@outpost/client';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { startRealServer } from '../test/real-server';
import type { RealServer } from '../test/real-server';
import { recordUnhandledRejections } from '../test/unhandled-rejections';
import { useFetchedRecord } from './index';

type Encounter = { patientId: string; date?: string; diagnosis?: string; notes?: string };

const sixMonthsAgo = new Date(Date.now() - 183 * 86_400_000).toISOString().slice(0, 10);
const recentVisits: RecordFilters = {
  encounters: (r) => typeof r.data['date'] !== 'string' || r.data['date'] >= sixMonthsAgo,
};

let server: RealServer;
beforeAll(async () => {
  server = await startRealServer();
});
afterAll(() => server.close());
afterEach(cleanup);
const unhandled = recordUnhandledRejections();

/** The real network, which a test can cut, make fail, or hold one record's read on. */
class RecordReads {
  reachable = true;
  /** Reads of records answer 503, as a server failing does. */
  failing = false;
  /** Every read of a record asked for, reached or not. */
  readonly reads: string[] = [];
  private held: { path: string; reached: () => void; released: Promise<void> } | null = null;

  /** The next read of `collection/id` waits until `release`; `reached` once it waits. */
  holdRead(collection: string, id: string): { reached: Promise<void>; release: () => void } {
    let reached = () => {};
    let release = () => {};
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { path: `/v1/records/${collection}/${id}`, reached, released };
    return { reached: waiting, release };
  }

  readsOf(id: string): number {
    return this.reads.filter((path) => path.endsWith(`/${id}`)).length;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const isRead = url.pathname.startsWith('/v1/records/');
    if (isRead) this.reads.push(url.pathname);
    if (!this.reachable) throw new TypeError('Failed to fetch');
    if (isRead && this.held?.path === url.pathname) {
      const held = this.held;
      this.held = null;
      held.reached();
      await held.released;
    }
    if (isRead && this.failing) {
      return new Response(JSON.stringify({ error: { code: 'INTERNAL', message: 'down' } }), {
        status: 503,
        headers: { 'content-type': 'application/json' },
      });
    }
    return fetch(input, init);
  };
}

async function signedIn(email: string, net = new RecordReads(), extra: Partial<SyncClientOptions> = {}) {
  const token = await server.token(email);
  const client = await openClient({
    url: server.url,
    getToken: async () => token,
    fetch: net.fetch,
    ...extra,
  });
  return { client, net };
}

/** The clinic's desk: a patient with a visit of 2019, one of 2018, and one of this week. */
async function clinic() {
  const { client: desk } = await signedIn('admin@clinic-a.test');
  const patient = await desk.collection('patients').create({ name: 'Amina K.' });
  const visits = desk.collection<Encounter>('encounters');
  const old = await visits.create({ patientId: patient.id, date: '2019-03-02', diagnosis: 'malaria' });
  const older = await visits.create({ patientId: patient.id, date: '2018-07-14', diagnosis: 'fracture' });
  const recent = await visits.create({
    patientId: patient.id,
    date: new Date().toISOString().slice(0, 10),
    diagnosis: 'cough',
  });
  expect((await desk.sync()).success).toBe(true);
  return { desk, old, older, recent };
}

/** A nurse's tablet keeping six months of visits, synced. */
async function tablet(net = new RecordReads(), extra: Partial<SyncClientOptions> = {}) {
  const signed = await signedIn('nurse@clinic-a.test', net, { recordFilter: recentVisits, ...extra });
  expect((await signed.client.sync()).success).toBe(true);
  return signed;
}

function Visit({ id }: { id: string }) {
  const visit = useFetchedRecord<Encounter>('encounters', id);
  switch (visit.status) {
    case 'held':
      return (
        <p>
          on this tablet: {visit.record.data.diagnosis}
          {visit.record.data.notes ? `, ${visit.record.data.notes}` : ''}
          {visit.record.pending ? ' (not yet synced)' : ''}
        </p>
      );
    case 'found':
      return (
        <p>
          from the server: {visit.record.data.diagnosis}
          {visit.record.data.notes ? `, ${visit.record.data.notes}` : ''}
        </p>
      );
    case 'loading':
      return <p>reading…</p>;
    case 'not-found':
      return <p>no such visit</p>;
    case 'unavailable':
      return (
        <p>
          not on this tablet, and no network ({visit.error.name})
          <button onClick={visit.retry}>Try again</button>
        </p>
      );
    case 'refused':
      return <p>refused: {visit.error.code}</p>;
  }
}

/**
 * Lets the client's requests and React's renders run until `done` holds (or `ms` have passed). Each
 * step is an act() of its own: React renders what an act() queued only when it ends.
 */
async function until(done: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    await acting(() => new Promise((resolve) => setTimeout(resolve, 10)));
    if (done()) return;
  }
}

/** Long enough on loopback for a read the hook should not make to have been made. */
const quietly = () => until(() => false, 250);

async function shown(client: SyncClient, ui: React.ReactNode) {
  const view = await render(client, ui);
  return { ...view, settled: (text: string) => until(() => view.text() === text).then(() => view.text()) };
}

describe('useFetchedRecord', () => {
  it('shows a visit the tablet holds from the device, and one its filter leaves out from the server, once', async () => {
    const { old, recent } = await clinic();
    const { client, net } = await tablet();

    const held = await shown(client, <Visit id={recent.id} />);
    expect(held.text()).toBe('on this tablet: cough');
    const fetched = await shown(
      client,
      <>
        <Visit id={old.id} />
        <Visit id={old.id} />
      </>,
    );
    expect(fetched.text()).toBe('reading…reading…');
    expect(await fetched.settled('from the server: malariafrom the server: malaria')).toBe(
      'from the server: malariafrom the server: malaria',
    );
    // Two screens, one request; none for the visit the device holds.
    expect(net.readsOf(old.id)).toBe(1);
    expect(net.readsOf(recent.id)).toBe(0);
    await quietly();
    expect(net.readsOf(old.id)).toBe(1);
    expect(await client.collection('encounters').get(old.id)).toBeNull();
  });

  it('follows the record live once a change puts it on the device, and reads it again once it goes', async () => {
    const { desk, old } = await clinic();
    const { client } = await tablet();
    const view = await shown(client, <Visit id={old.id} />);
    await view.settled('from the server: malaria');

    await acting(() => client.collection('encounters').update(old.id, { notes: 'allergic to penicillin' }));
    expect(view.text()).toBe('on this tablet: malaria, allergic to penicillin (not yet synced)');
    await acting(() => client.collection('encounters').update(old.id, { diagnosis: 'malaria, treated' }));
    expect(view.text()).toBe('on this tablet: malaria, treated, allergic to penicillin (not yet synced)');

    // Confirmed, the visit leaves the tablet: the screen shows the server's copy, the change in it.
    expect(await acting(() => client.sync())).toMatchObject({ success: true, pushed: { applied: 1 } });
    expect(await client.collection('encounters').get(old.id)).toBeNull();
    // Never the copy read before the change, as if the change were lost.
    expect(['reading…', 'from the server: malaria, treated, allergic to penicillin']).toContain(view.text());
    expect(await view.settled('from the server: malaria, treated, allergic to penicillin')).toBe(
      'from the server: malaria, treated, allergic to penicillin',
    );

    // A colleague's change shows after the next sync that goes well.
    await desk.collection('encounters').update(old.id, { notes: 'allergic to penicillin and sulfa' });
    expect((await desk.sync()).success).toBe(true);
    await acting(() => client.sync());
    expect(await view.settled('from the server: malaria, treated, allergic to penicillin and sulfa')).toBe(
      'from the server: malaria, treated, allergic to penicillin and sulfa',
    );
  });

  it('tells not found from unavailable, reads again when the network returns, and never in a loop', async () => {
    const { desk, old, older } = await clinic();
    const net = new RecordReads();
    const { client } = await tablet(net, { events: new EventTarget() });

    // None on the server, or deleted there: not found.
    const missing = uuidv7(Date.now());
    const none = await shown(client, <Visit id={missing} />);
    expect(await none.settled('no such visit')).toBe('no such visit');
    await desk.collection('encounters').delete(older.id);
    expect((await desk.sync()).success).toBe(true);
    const deleted = await shown(client, <Visit id={older.id} />);
    expect(await deleted.settled('no such visit')).toBe('no such visit');

    // Offline: not "no such visit", and one read, not one after another.
    net.reachable = false;
    await acting(() => client.network.check());
    expect(client.network.status.online).toBe(false);
    const view = await shown(client, <Visit id={old.id} />);
    const offline = 'not on this tablet, and no network (RecordUnavailableError)Try again';
    expect(await view.settled(offline)).toBe(offline);
    await quietly();
    expect(net.readsOf(old.id)).toBe(1);

    // "Try again" still offline: one read more, the same answer.
    await acting(async () => view.container.querySelector('button')?.click());
    expect(await view.settled(offline)).toBe(offline);
    expect(net.readsOf(old.id)).toBe(2);

    // The network comes back: read again at once, with no sync and no button.
    net.reachable = true;
    await acting(() => client.network.check());
    expect(await view.settled('from the server: malaria')).toBe('from the server: malaria');
    expect(net.readsOf(old.id)).toBe(3);

    // The server failing is unavailable too; a sync that goes well reads again.
    net.failing = true;
    const failing = await shown(client, <Visit id={uuidv7(Date.now())} />);
    expect(await failing.settled(offline)).toBe(offline);
    await quietly();
    net.failing = false;
    expect(await acting(() => client.sync())).toMatchObject({ success: true });
    expect(await failing.settled('no such visit')).toBe('no such visit');
  });

  it('says refused for a role that may not read visits, and does not ask again', async () => {
    const { old } = await clinic();
    const { client, net } = await signedIn('porter@clinic-a.test');
    const view = await shown(client, <Visit id={old.id} />);
    expect(await view.settled('refused: FORBIDDEN')).toBe('refused: FORBIDDEN');
    await quietly();
    expect(net.readsOf(old.id)).toBe(1);
  });

  it('drops the answer of a read under way when the screen moves to another visit or leaves', async () => {
    const { old, older } = await clinic();
    const { client, net } = await tablet();
    let show = (_id: string) => {};
    let hide = () => {};
    function Screen() {
      const [id, setId] = useState(old.id);
      const [open, setOpen] = useState(true);
      show = setId;
      hide = () => setOpen(false);
      return open ? <Visit id={id} /> : <p>closed</p>;
    }

    const read = net.holdRead('encounters', old.id);
    const view = await shown(client, <Screen />);
    await acting(() => read.reached);
    expect(view.text()).toBe('reading…');
    // The nurse moves on to the visit of 2018 before the first answer comes.
    await acting(async () => show(older.id));
    expect(await view.settled('from the server: fracture')).toBe('from the server: fracture');
    read.release();
    await quietly();
    expect(view.text()).toBe('from the server: fracture');

    // Back to 2019, and the screen closed while its read is out.
    const again = net.holdRead('encounters', old.id);
    await acting(async () => show(old.id));
    await acting(() => again.reached);
    expect(view.text()).toBe('reading…');
    await acting(async () => hide());
    again.release();
    await quietly();
    expect(view.text()).toBe('closed');
    await unhandled.settle();
    expect(unhandled.reasons).toEqual([]);
  });
});
