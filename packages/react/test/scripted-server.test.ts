// The stand-in server refuses a resolution as the real one does (packages/server/src/conflicts/
// conflict-desk.ts), so what a component makes of the refusal holds against the real server too.
import { afterEach, describe, expect, it } from 'vitest';
import { OutpostError } from '@outpost/core';
import { aminaId, openScriptedClient, patientConflict } from './conflict-scenarios';
import { cleanup } from './react-fixture';

afterEach(cleanup);

async function refusal(work: Promise<unknown>): Promise<OutpostError> {
  const err: unknown = await work.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof OutpostError)) throw new Error(`expected an OutpostError, got ${String(err)}`);
  return err;
}

describe('scriptedServer refusing a resolution that would overwrite later work', () => {
  it('says the record was deleted after the conflict when it was, in the real server’s words', async () => {
    const { client, server } = await patientConflict();
    const tablet = await openScriptedClient(server);
    await tablet.sync();
    await tablet.collection('patients').delete(aminaId);
    await tablet.sync();

    const err = await refusal(client.conflicts.resolve('conflict-1', 'client-wins'));
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toBe(
      'patients patient-amina was deleted after this conflict: client-wins would bring it back',
    );
    expect(err.details).toMatchObject({ deleted: true, currentVersion: 3 });
  });

  it('names the fields edited after the conflict when the record was edited, in the real server’s words', async () => {
    const { client, server } = await patientConflict();
    server.put('patients', aminaId, { name: 'Amina K.', village: 'Balaka', notes: 'asthma' });

    const err = await refusal(client.conflicts.resolve('conflict-1', 'client-wins'));
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toBe(
      'patients patient-amina was edited after this conflict (village): client-wins would overwrite that',
    );
    expect(err.details).toEqual({ fields: ['village'], deleted: false, currentVersion: 3 });
  });
});
