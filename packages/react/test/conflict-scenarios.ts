// Devices that already hold conflicts, made the way they arise: a record synced to the device,
// changed there while another device changed it on the server, then a sync that meets the change.
import { systemTimers } from '@outpost/client';
import type { SyncClient, SyncClientOptions, Timers } from '@outpost/client';
import { openClient } from './react-fixture';
import { scriptedServer } from './scripted-server';
import type { ScriptedServer } from './scripted-server';

export interface Scenario {
  readonly client: SyncClient;
  readonly server: ScriptedServer;
}

export const aminaId = 'patient-amina';

/** A client of `server`, offline as far as its network monitor knows, that never syncs by itself. */
export function openScriptedClient(
  server: ScriptedServer,
  options: Partial<SyncClientOptions> = {},
): Promise<SyncClient> {
  return openClient({ transport: server.transport, ...options });
}

/**
 * Amina's record: the nurse moved her to Ntcheu, added a phone number and cleared the notes while
 * another device moved her to Mangochi. The conflict: village changed, phone added, notes removed.
 */
export async function patientConflict(options: Partial<SyncClientOptions> = {}): Promise<Scenario> {
  const server = scriptedServer();
  server.put('patients', aminaId, { name: 'Amina K.', village: 'Dedza', notes: 'asthma' });
  const client = await openScriptedClient(server, options);
  await client.sync();
  await client
    .collection('patients')
    .update(aminaId, { village: 'Ntcheu', phone: '0999 123 456', notes: null });
  server.conflictOnPush('patients', aminaId, { name: 'Amina K.', village: 'Mangochi', notes: 'asthma' });
  await client.sync();
  return { client, server };
}

/** An encounter whose vitals were retaken on the device while the server's were corrected. */
export async function vitalsConflict(): Promise<Scenario> {
  const server = scriptedServer();
  server.put('patients', aminaId, { name: 'Amina K.' });
  const encounter = { patientId: aminaId, diagnosis: 'malaria' };
  server.put('encounters', 'encounter-1', {
    ...encounter,
    vitals: { temperatureC: 38.6, pulse: 96, respRate: 22 },
  });
  const client = await openScriptedClient(server);
  await client.sync();
  await client.collection('encounters').update('encounter-1', {
    vitals: { temperatureC: 37.2, pulse: 96, spo2: 97 },
  });
  server.conflictOnPush('encounters', 'encounter-1', {
    ...encounter,
    vitals: { temperatureC: 38.9, pulse: 96, respRate: 22 },
  });
  await client.sync();
  return { client, server };
}

/** A clock the test moves on by hand, so conflicts are detected at distinct times. */
export function manualTimers(start = Date.now()): Timers & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: systemTimers.setTimeout,
    clearTimeout: systemTimers.clearTimeout,
    advance(ms) {
      now += ms;
    },
  };
}

/**
 * One conflict per name, each met by its own sync a minute after the previous, in order: the
 * patients first, then the encounters (of the first patient).
 */
export async function manyConflicts(
  patients: readonly string[],
  encounters: readonly string[],
  options: Partial<SyncClientOptions> = {},
): Promise<Scenario> {
  const server = scriptedServer();
  const timers = manualTimers();
  const client = await openScriptedClient(server, { timers, ...options });
  for (const name of patients) {
    const id = `patient-${name.toLowerCase().replace(/[^a-z]/g, '')}`;
    await client.collection('patients').create({ name, village: 'Ntcheu' }, { id });
    server.conflictOnPush('patients', id, { name, village: 'Dedza' });
    await client.sync();
    timers.advance(60_000);
  }
  const owner = client.conflicts.list()[0]?.recordId ?? aminaId;
  for (const diagnosis of encounters) {
    const id = `encounter-${diagnosis.toLowerCase().replace(/[^a-z]/g, '')}`;
    await client.collection('encounters').create({ patientId: owner, diagnosis }, { id });
    server.conflictOnPush('encounters', id, { patientId: owner, diagnosis: `${diagnosis} (revised)` });
    await client.sync();
    timers.advance(60_000);
  }
  return { client, server };
}
