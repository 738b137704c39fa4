// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncTransport } from '@outpost/client';
import { vetPractice } from '@outpost/examples';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { useRecord } from './index';

type Patient = { name: string; village?: string };

afterEach(cleanup);

describe('useRecord', () => {
  it('follows one record through changes and its deletion', async () => {
    const client = await openClient();
    const patients = client.collection<Patient>('patients');
    const amina = await patients.create({ name: 'Amina K.', village: 'Ntcheu' });
    await patients.create({ name: 'Grace M.' });

    function PatientCard({ id }: { id: string }) {
      const patient = useRecord<Patient>('patients', id);
      if (!patient) return <p>no such patient</p>;
      return (
        <p>
          {patient.data.name} of {patient.data.village ?? 'nowhere'}
          {patient.pending ? ' (not yet synced)' : ''}
        </p>
      );
    }
    const view = await render(client, <PatientCard id={amina.id} />);
    expect(view.text()).toBe('Amina K. of Ntcheu (not yet synced)');

    await acting(() => patients.update(amina.id, { village: 'Dedza' }));
    expect(view.text()).toBe('Amina K. of Dedza (not yet synced)');

    await acting(() => patients.delete(amina.id));
    expect(view.text()).toBe('no such patient');
  });

  it('keeps showing a record made with a temp id once the server gives it its real id', async () => {
    // A stand-in server that accepts every op and assigns the next real id.
    let next = 0;
    const transport: SyncTransport = {
      push: async ({ ops }) => {
        const idMappings = ops
          .filter((op) => op.type === 'create')
          .map((op) => ({ collection: op.collection, tempId: op.id, id: `owner-${++next}` }));
        return {
          idMappings,
          results: ops.map((op) => {
            const mapped = idMappings.find((m) => m.tempId === op.id);
            return {
              opId: op.opId,
              status: 'applied' as const,
              collection: op.collection,
              id: mapped?.id ?? op.id,
              version: 1,
              ...(mapped ? { tempId: op.id } : {}),
            };
          }),
        };
      },
      pull: async () => ({ changes: [], cursor: 'c1', hasMore: false }),
      getRecord: async () => null,
      resolveConflict: async () => {
        throw new Error('not used');
      },
      undoConflict: async () => {
        throw new Error('not used');
      },
      listConflicts: async () => ({ conflicts: [], nextCursor: null }),
      listRejections: async () => ({ rejections: [], nextCursor: null }),
    };
    const client = await openClient({ schema: vetPractice, transport });
    const owner = await client.collection<{ name: string }>('users').create({ name: 'Tamara N.' });
    expect(owner.id).toMatch(/^temp_/);

    function Owner({ id }: { id: string }) {
      const user = useRecord<{ name: string }>('users', id);
      return (
        <p>{user ? `${user.data.name} (${user.id.startsWith('temp_') ? 'temp id' : user.id})` : 'none'}</p>
      );
    }
    const view = await render(client, <Owner id={owner.id} />);
    expect(view.text()).toBe('Tamara N. (temp id)');

    await acting(() => client.sync());
    expect(view.text()).toBe('Tamara N. (owner-1)');

    await acting(() => client.collection('users').update('owner-1', { name: 'Tamara Nkhoma' }));
    expect(view.text()).toBe('Tamara Nkhoma (owner-1)');
  });
});
