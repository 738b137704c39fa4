// What a developer or support sees of a device's syncs: seed 001's log lines (`[SyncEngine] ...`,
// `[NetworkMonitor] ...`, on the console when `localStorage.DEBUG_OFFLINE` is 'true') and seed
// 002's `exportDebugData()`, against a real server, never carrying what a record holds.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { SyncLogEntry } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(async () => {
  await closeClients();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("a device's sync log and debug export", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => {
    await server.close();
  });

  it('logs each sync, its phases and the network, and exports the state and the log with no patient data', async () => {
    const network = new TestNetwork();
    const lines: SyncLogEntry[] = [];
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      debug: (entry) => lines.push(entry),
      retry: { baseMs: 60_000, maxMs: 60_000, maxAttempts: 8 },
    });
    const said = () => lines.map((l) => `[${l.source}] ${l.level} ${l.message}`);

    network.mode = 'offline';
    const amina = await client.collection('patients').create({ name: 'Amina Phiri', village: 'Ntcheu' });
    await client.network.check();
    expect((await client.sync()).success).toBe(false);
    expect(said()).toContain('[NetworkMonitor] debug offline');
    expect(said().at(-1)).toMatch(
      /^\[SyncEngine\] warn sync did not finish \(NETWORK\) in \d+ ms: pushed 0 /,
    );

    network.mode = 'online';
    await client.network.check();
    // An encounter of a patient that exists nowhere: refused for good, kept in the outbox as such.
    await client.collection('encounters').create({ patientId: 'nobody', diagnosis: 'malaria' });
    expect((await client.sync()).success).toBe(true);
    expect(said()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\[NetworkMonitor\] debug online \(\w+\)$/)]),
    );
    expect(said()).toContain('[SyncEngine] debug sending changes');
    expect(said()).toContain('[SyncEngine] debug receiving changes');
    expect(said().at(-1)).toMatch(
      /^\[SyncEngine\] debug sync finished in \d+ ms: pushed 2 \(1 applied, 0 in conflict, 1 refused, 0 held back\), pulled \d+, up to date; files uploaded 0, 0 waiting, 0 stopped$/,
    );

    const exported = client.exportDebugData();
    expect(exported).toMatchObject({
      schema: fieldClinic.name,
      clientId: client.clientId,
      deviceId: 'tablet-7',
      network: { online: true, isTransitioning: false },
      queue: { waiting: 0, refused: 1, completed: 1 },
      lastResult: { success: true, pulled: expect.any(Number) },
    });
    expect(exported.outbox).toEqual([
      expect.objectContaining({ collection: 'patients', id: amina.id, type: 'create', status: 'done' }),
      expect.objectContaining({
        collection: 'encounters',
        type: 'create',
        status: 'failed',
        rejected: true,
        lastErrorCode: expect.any(String),
      }),
    ]);
    expect(exported.log).toEqual(lines);
    // Plain JSON, and nothing a nurse typed: no name, village or diagnosis, no server message.
    const text = JSON.stringify(exported);
    expect(JSON.parse(text)).toEqual(exported);
    for (const typed of ['Amina Phiri', 'Ntcheu', 'malaria']) {
      expect(text).not.toContain(typed);
      expect(JSON.stringify(lines)).not.toContain(typed);
    }
  });

  it("prints to the console with seed 001's prefixes when localStorage.DEBUG_OFFLINE is 'true', and not otherwise", async () => {
    const printed = vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    const network = new TestNetwork();
    const quiet = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network);
    await quiet.sync();
    expect(printed).not.toHaveBeenCalled();
    // The log is kept all the same, for the export.
    expect(quiet.exportDebugData().log.at(-1)?.message).toMatch(/^sync finished/);

    vi.stubGlobal('localStorage', { getItem: (key: string) => (key === 'DEBUG_OFFLINE' ? 'true' : null) });
    const loud = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network);
    await loud.sync();
    expect(printed.mock.calls.map(([line]) => String(line))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\[SyncEngine\] sync finished in \d+ ms/)]),
    );
    // `debug: false` wins over the flag.
    printed.mockClear();
    const off = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, { debug: false });
    await off.sync();
    expect(printed).not.toHaveBeenCalled();
  });
});
