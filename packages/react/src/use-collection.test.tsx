// @vitest-environment happy-dom
import { memo, useRef } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientRecord } from '@outpost/client';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { useCollection } from './index';

type Patient = { name: string; village?: string };

afterEach(cleanup);

function PatientNames() {
  const patients = useCollection<Patient>('patients', { orderBy: 'name' });
  return <p>{patients.map((p) => p.data.name).join(', ') || 'no patients'}</p>;
}

describe('useCollection', () => {
  it('shows patients as they are created, changed and deleted on the device', async () => {
    const client = await openClient();
    const patients = client.collection<Patient>('patients');
    const view = await render(client, <PatientNames />);
    expect(view.text()).toBe('no patients');

    const amina = await acting(() => patients.create({ name: 'Amina K.' }));
    await acting(() => patients.create({ name: 'Chikondi B.' }));
    expect(view.text()).toBe('Amina K., Chikondi B.');

    await acting(() => patients.update(amina.id, { name: 'Zione K.' }));
    expect(view.text()).toBe('Chikondi B., Zione K.');

    await acting(() => patients.delete(amina.id));
    expect(view.text()).toBe('Chikondi B.');
  });

  it('answers a query (where, orderBy, direction) and follows records moving in and out of it', async () => {
    const client = await openClient();
    const patients = client.collection<Patient>('patients');
    await patients.create({ name: 'Amina K.', village: 'Ntcheu' });
    await patients.create({ name: 'Yohane P.', village: 'Ntcheu' });
    const grace = await patients.create({ name: 'Grace M.', village: 'Dedza' });

    function NtcheuPatients() {
      // An inline query, a new object every render: it must not resubscribe or loop.
      const rows = useCollection<Patient>('patients', {
        where: { village: 'Ntcheu' },
        orderBy: 'name',
        direction: 'desc',
      });
      return <p>{rows.map((p) => p.data.name).join(', ')}</p>;
    }
    const view = await render(client, <NtcheuPatients />);
    expect(view.text()).toBe('Yohane P., Amina K.');

    await acting(() => patients.update(grace.id, { village: 'Ntcheu' }));
    expect(view.text()).toBe('Yohane P., Grace M., Amina K.');

    await acting(() => patients.update(grace.id, { village: 'Dedza' }));
    expect(view.text()).toBe('Yohane P., Amina K.');
  });

  it('keeps the same array while nothing it shows changed, so memoized children do not re-render', async () => {
    const client = await openClient();
    const patient = await client.collection<Patient>('patients').create({ name: 'Amina K.' });

    const List = memo(function List({ rows }: { rows: readonly ClientRecord<Patient>[] }) {
      const renders = useRef(0);
      renders.current += 1;
      return (
        <p>
          {rows.length} patients, list drawn {renders.current} times
        </p>
      );
    });
    function Patients() {
      // An inline query: a new object every render, the same query all the same.
      const rows = useCollection<Patient>('patients', { orderBy: 'name' });
      const encounters = useCollection('encounters');
      return (
        <div>
          <List rows={rows} />
          <span>{encounters.length} encounters</span>
        </div>
      );
    }
    const view = await render(client, <Patients />);
    expect(view.text()).toBe('1 patients, list drawn 1 times0 encounters');

    // Another collection changes, and the outbox grows: the patients are what they were.
    await acting(() =>
      client
        .collection('encounters')
        .create({ patientId: patient.id, date: '2025-03-01', diagnosis: 'malaria' }),
    );
    expect(view.text()).toBe('1 patients, list drawn 1 times1 encounters');
  });
});
