// Request bodies gzipped (seeds 000, 001: "compress large payloads, use gzip for JSON data"): a
// push of a day of visits goes to a real server with Content-Encoding: gzip in fewer bytes than its
// JSON, and every record arrives. Small bodies, `compressRequests: false` and a platform without
// CompressionStream go plain; a proxy answering 415 to a compressed body gets it again plain.
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { SyncClient, SyncClientOptions } from '../src/index';
import { TestNetwork, closeClients, openClient, serverState, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

const nurse = 'nurse@clinic-a.test';

/** One request as it left the device: its coding, its bytes on the wire, its JSON's bytes. */
interface Sent {
  method: string;
  path: string;
  encoding: string | null;
  wireBytes: number;
  jsonBytes: number;
  json: unknown;
}

/**
 * A fetch in front of the test network that notes each request's headers and body size and passes
 * it on unchanged; `refuseCompressed`: answers 415 to a compressed body itself, as an old proxy
 * does, without passing it on.
 */
function recorder(network: TestNetwork, options: { refuseCompressed?: boolean } = {}) {
  const sent: Sent[] = [];
  let refused = 0;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(String(input));
    const encoding = new Headers(init?.headers).get('content-encoding');
    const body = init?.body;
    let wireBytes = 0;
    let text: string | null = null;
    if (typeof body === 'string') {
      wireBytes = Buffer.byteLength(body);
      text = body;
    } else if (body instanceof Uint8Array) {
      wireBytes = body.byteLength;
      text = (encoding === 'gzip' ? gunzipSync(body) : Buffer.from(body)).toString('utf8');
    }
    sent.push({
      method: init?.method ?? 'GET',
      path: url.pathname,
      encoding,
      wireBytes,
      jsonBytes: text === null ? 0 : Buffer.byteLength(text),
      json: text === null ? undefined : (JSON.parse(text) as unknown),
    });
    if (options.refuseCompressed && encoding !== null) {
      refused += 1;
      return new Response('<html><body>415 Unsupported Media Type</body></html>', {
        status: 415,
        headers: { 'content-type': 'text/html' },
      });
    }
    return network.fetch(input, init);
  };
  return {
    fetch,
    sent,
    pushes: () => sent.filter((s) => s.path === '/v1/sync/push'),
    get refused() {
      return refused;
    },
  };
}

/** A day of visits: a patient and `n` encounters with vitals and notes, made offline (`n + 1` ops). */
async function dayOfVisits(client: SyncClient, n: number): Promise<string[]> {
  const patient = await client.collection('patients').create({ name: 'Amina K.', village: 'Ntcheu' });
  const keys = [`patients/${patient.id}`];
  for (let i = 0; i < n; i++) {
    const e = await client.collection('encounters').create({
      patientId: patient.id,
      date: '2026-11-22',
      diagnosis: i % 3 === 0 ? 'malaria, uncomplicated' : 'upper respiratory tract infection',
      prescription: i % 3 === 0 ? 'artemether-lumefantrine 20/120 mg, 4 tablets twice daily' : 'paracetamol',
      vitals: { temperatureC: 37 + (i % 20) / 10, pulse: 70 + (i % 30), respiratoryRate: 18 + (i % 6) },
      notes: `visit ${i}: seen at the mobile clinic, follow up in two weeks if the fever persists`,
    });
    keys.push(`encounters/${e.id}`);
  }
  return keys;
}

/** Every record the device made, as the server now holds it (a pull from scratch). */
async function expectOnServer(server: TestServer, client: SyncClient, keys: string[]): Promise<void> {
  const state = await serverState(server, nurse);
  for (const key of keys) {
    const [collection, id] = key.split('/') as [string, string];
    expect(state.get(key), key).toEqual((await client.collection(collection).get(id))?.data);
  }
}

afterEach(async () => {
  vi.unstubAllGlobals();
  await closeClients();
});

describe('compressed requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  async function tablet(deviceId: string, extra: Partial<SyncClientOptions> = {}, refuseCompressed = false) {
    const network = new TestNetwork();
    const wire = recorder(network, { refuseCompressed });
    const client = await openClient(server, nurse, memoryStore(), network, {
      deviceId,
      fetch: wire.fetch,
      ...extra,
    });
    return { client, wire };
  }

  it('a push of a day of visits goes gzipped, in fewer bytes than its JSON, and every record arrives', async () => {
    const { client, wire } = await tablet('tablet-day');
    const keys = await dayOfVisits(client, 299);
    const result = await client.sync();
    expect(result.success).toBe(true);
    expect(result.pushed.applied).toBe(300);

    const pushes = wire.pushes();
    expect(pushes.length).toBe(300 / 50);
    for (const push of pushes) {
      expect(push.encoding).toBe('gzip');
      expect(push.wireBytes).toBeLessThan(push.jsonBytes);
    }
    const wireTotal = pushes.reduce((n, p) => n + p.wireBytes, 0);
    const jsonTotal = pushes.reduce((n, p) => n + p.jsonBytes, 0);
    // Ids, op ids and clocks are random and do not shrink; the rest of a visit does, a lot.
    expect(wireTotal).toBeLessThan(jsonTotal / 4);
    // What went is every op of the outbox, whole.
    const ops = pushes.flatMap((p) => (p.json as { ops: Array<{ collection: string; id: string }> }).ops);
    expect(ops.map((o) => `${o.collection}/${o.id}`).sort()).toEqual([...keys].sort());
    await expectOnServer(server, client, keys);
  });

  it('a body under 1 KiB goes plain, and one over it from the same device gzipped', async () => {
    const { client, wire } = await tablet('tablet-small');
    const patient = await client.collection('patients').create({ name: 'Chisomo' });
    expect((await client.sync()).success).toBe(true);
    const [small] = wire.pushes();
    expect(small?.jsonBytes).toBeLessThan(1024);
    expect(small?.encoding).toBeNull();
    expect(typeof small?.json).toBe('object');
    // Requests without a body carry no coding either.
    expect(wire.sent.filter((s) => s.method === 'GET').every((s) => s.encoding === null)).toBe(true);

    const keys = await dayOfVisits(client, 20);
    expect((await client.sync()).success).toBe(true);
    const [, large] = wire.pushes();
    expect(large?.jsonBytes).toBeGreaterThan(1024);
    expect(large?.encoding).toBe('gzip');
    await expectOnServer(server, client, [`patients/${patient.id}`, ...keys]);
  });

  it('with compressRequests: false nothing is compressed, where the same push goes gzipped by default', async () => {
    const off = await tablet('tablet-off', { compressRequests: false });
    const on = await tablet('tablet-on');
    const offKeys = await dayOfVisits(off.client, 99);
    await dayOfVisits(on.client, 99);
    expect((await off.client.sync()).success).toBe(true);
    expect((await on.client.sync()).success).toBe(true);

    expect(on.wire.pushes().map((p) => p.encoding)).toEqual(['gzip', 'gzip']);
    expect(off.wire.pushes()).toHaveLength(2);
    for (const s of off.wire.sent) {
      expect(s.encoding).toBeNull();
      expect(s.wireBytes).toBe(s.jsonBytes);
    }
    await expectOnServer(server, off.client, offKeys);
  });

  it('a platform without CompressionStream sends the same push plain', async () => {
    const before = await tablet('tablet-modern');
    await dayOfVisits(before.client, 60);
    expect((await before.client.sync()).success).toBe(true);
    expect(before.wire.pushes()[0]?.encoding).toBe('gzip');

    vi.stubGlobal('CompressionStream', undefined);
    const old = await tablet('tablet-old');
    const keys = await dayOfVisits(old.client, 60);
    expect((await old.client.sync()).success).toBe(true);
    expect(old.wire.pushes().length).toBeGreaterThan(0);
    for (const push of old.wire.pushes()) expect(push.encoding).toBeNull();
    await expectOnServer(server, old.client, keys);
  });

  it('a proxy answering 415 to a gzipped push: it goes again plain and lands, and nothing more is compressed', async () => {
    const { client, wire } = await tablet('tablet-proxy', {}, true);
    const keys = await dayOfVisits(client, 120);
    const result = await client.sync();
    expect(result.success).toBe(true);
    expect(result.pushed.applied).toBe(121);
    expect(client.queue.stats().waiting).toBe(0);

    // The first push was refused compressed, then sent plain; every request after went plain.
    expect(wire.refused).toBe(1);
    const pushes = wire.pushes();
    expect(pushes.map((p) => p.encoding)).toEqual([
      'gzip',
      null,
      ...Array.from({ length: Math.ceil(121 / 50) - 1 }, () => null),
    ]);
    expect(pushes[1]?.json).toEqual(pushes[0]?.json);
    await expectOnServer(server, client, keys);

    // For the transport's life: the next day's push goes plain with no 415 first.
    const more = await dayOfVisits(client, 60);
    expect((await client.sync()).success).toBe(true);
    expect(wire.refused).toBe(1);
    expect(wire.sent.filter((s) => s.encoding !== null)).toHaveLength(1);
    await expectOnServer(server, client, more);
  });
});
