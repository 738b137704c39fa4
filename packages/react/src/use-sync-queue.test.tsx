// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { useSyncQueue } from './index';

afterEach(cleanup);

function QueuePanel() {
  const { stats, operations } = useSyncQueue();
  return (
    <div>
      <p>
        {stats.pending} pending of {stats.total}
      </p>
      <ul>
        {operations.map((op) => (
          <li key={op.seq}>
            {op.type} {op.collection}: {op.status}, {op.attempts} attempts
            {op.lastError ? `, ${op.lastError.code}` : ''};
          </li>
        ))}
      </ul>
    </div>
  );
}

describe('useSyncQueue', () => {
  it('counts writes waiting for the network, and keeps them after a sync that could not reach the server', async () => {
    // A failed send backs off for at least 30 s here, so no retry runs during the test.
    const client = await openClient({ retry: { baseMs: 60_000, maxMs: 60_000 }, random: () => 0.5 });
    const view = await render(client, <QueuePanel />);
    expect(view.text()).toBe('0 pending of 0');

    const patients = client.collection('patients');
    const amina = await acting(() => patients.create({ name: 'Amina K.' }));
    expect(view.text()).toContain('1 pending of 1');
    await acting(() => patients.create({ name: 'Grace M.' }));
    await acting(() => client.collection('encounters').create({ patientId: amina.id, diagnosis: 'malaria' }));
    expect(view.text()).toBe(
      '3 pending of 3' +
        'create patients: pending, 0 attempts;' +
        'create patients: pending, 0 attempts;' +
        'create encounters: pending, 0 attempts;',
    );

    const result = await acting(() => client.sync());
    expect(result.success).toBe(false);
    expect(view.text()).toBe(
      '3 pending of 3' +
        'create patients: pending, 1 attempts, NETWORK;' +
        'create patients: pending, 1 attempts, NETWORK;' +
        'create encounters: pending, 1 attempts, NETWORK;',
    );
  });

  it('retries chosen ops afresh and clears nothing while nothing is confirmed', async () => {
    const client = await openClient({ retry: { baseMs: 60_000, maxMs: 60_000 }, random: () => 0.5 });
    let queue: ReturnType<typeof useSyncQueue> | null = null;
    function Panel() {
      queue = useSyncQueue();
      return <QueuePanel />;
    }
    const view = await render(client, <Panel />);
    await acting(() => client.collection('patients').create({ name: 'Amina K.' }));
    await acting(() => client.sync());
    expect(view.text()).toBe('1 pending of 1create patients: pending, 1 attempts, NETWORK;');

    const seq = client.queue.list()[0]?.seq ?? -1;
    expect(await acting(() => queue!.retry([seq]))).toBe(1);
    expect(view.text()).toBe('1 pending of 1create patients: pending, 0 attempts, NETWORK;');
    expect(await acting(() => queue!.clearCompleted())).toBe(0);
    expect(view.text()).toBe('1 pending of 1create patients: pending, 0 attempts, NETWORK;');
    // Never sent, so never discarded: this device is the only place the change exists.
    expect(await acting(() => queue!.discard([seq]))).toBe(0);
    expect(view.text()).toBe('1 pending of 1create patients: pending, 0 attempts, NETWORK;');
  });

  it('adds and removes operations as seed 001’s panel does, and shows each at once', async () => {
    const client = await openClient({ retry: { baseMs: 60_000, maxMs: 60_000 }, random: () => 0.5 });
    let queue: ReturnType<typeof useSyncQueue> | null = null;
    function Panel() {
      queue = useSyncQueue();
      return <QueuePanel />;
    }
    const view = await render(client, <Panel />);
    const added = await acting(() =>
      queue!.addOperation({ operation: 'create', entityType: 'patients', data: { name: 'Amina K.' } }),
    );
    expect(view.text()).toBe('1 pending of 1create patients: pending, 0 attempts;');
    expect((await client.collection('patients').get(added?.id ?? ''))?.data).toEqual({ name: 'Amina K.' });
    expect(await acting(() => queue!.removeOperation(added?.seq ?? -1))).toBe(1);
    expect(view.text()).toBe('0 pending of 0');
    expect(await client.collection('patients').find()).toEqual([]);
  });

  it("reads the queue's health by seed 004's rule as changes pile up offline", async () => {
    const client = await openClient();
    function Health() {
      const { stats } = useSyncQueue();
      return (
        <p>
          {stats.waiting} waiting: {stats.health}
        </p>
      );
    }
    const view = await render(client, <Health />);
    expect(view.text()).toBe('0 waiting: ok');
    const patients = client.collection('patients');
    await acting(async () => {
      for (let i = 0; i < 99; i++) await patients.create({ name: `Patient ${i}` });
    });
    expect(view.text()).toBe('99 waiting: ok');
    await acting(() => patients.create({ name: 'Patient 99' }));
    expect(view.text()).toBe('100 waiting: warning');
    await acting(async () => {
      for (let i = 100; i < 501; i++) await patients.create({ name: `Patient ${i}` });
    });
    expect(view.text()).toBe('501 waiting: critical');
  });
});
