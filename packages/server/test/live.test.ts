// The live stream (GET /v1/sync/events): a device hears that its clinic's data changed, from this
// server instance or, on PostgreSQL, from any instance on the same database; never another
// clinic's; and only for commits that changed something. Records as `changes`, files (completed,
// deleted, purged) as `files`.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveEventReader, uuidv7 } from '@outpost/core';
import type { LiveEvent } from '@outpost/core';
import { createStorage, dialects, password, startTestServer, testSecret } from './server-fixture';
import type { TestServer } from './server-fixture';
import { push } from './sync-client';

/** An open live stream, read event by event. */
interface EventStream {
  status: number;
  /** The next event, or 'end' once the server closed the stream. Fails after `ms`. */
  next(ms?: number): Promise<LiveEvent | 'end'>;
  close(): void;
}

/**
 * Each stream on a connection of its own (node:http, no agent), closed by destroying it: fetch's
 * pool left a connection open that never carried a request, which the server then waited out.
 */
function openStream(server: TestServer, token: string | null): Promise<EventStream> {
  const { port } = server.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const request = http.get(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/sync/events',
        agent: false,
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      },
      (response) => {
        response.setEncoding('utf8');
        const events = new LiveEventReader();
        const ready: Array<LiveEvent | 'end'> = [];
        let wake: (() => void) | null = null;
        const arrived = (items: Array<LiveEvent | 'end'>) => {
          ready.push(...items);
          wake?.();
        };
        response.on('data', (chunk: string) => arrived(events.push(chunk)));
        response.on('end', () => arrived(['end']));
        response.on('error', () => arrived(['end']));
        resolve({
          status: response.statusCode ?? 0,
          async next(ms = 5000) {
            const deadline = Date.now() + ms;
            while (ready.length === 0) {
              if (Date.now() >= deadline) throw new Error(`no event within ${ms} ms`);
              await new Promise<void>((r) => {
                wake = r;
                setTimeout(r, deadline - Date.now());
              });
              wake = null;
            }
            const next = ready[0] ?? 'end';
            // 'end' stays: every later read sees the stream closed.
            if (next !== 'end') ready.shift();
            return next;
          },
          close: () => request.destroy(),
        });
      },
    );
    request.on('error', reject);
  });
}

const streams: EventStream[] = [];
const servers: TestServer[] = [];

async function listening(kind: Parameters<typeof startTestServer>[0], options = {}): Promise<TestServer> {
  const server = await startTestServer(kind, options);
  servers.push(server);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  return server;
}

async function stream(server: TestServer, token: string | null): Promise<EventStream> {
  const opened = await openStream(server, token);
  streams.push(opened);
  return opened;
}

afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  const closing = servers.splice(0);
  for (const s of closing) await s.close();
  for (const s of closing) await s.storage.destroy().catch(() => undefined);
});

const newPatient = (name: string) => ({
  collection: 'patients',
  type: 'create' as const,
  id: uuidv7(),
  data: { name },
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const chunkSize = 1024;

/** A wound photo of three chunks, attached to a patient's record. */
function photo(recordId = uuidv7()) {
  const bytes = Buffer.alloc(3 * chunkSize - 100, 7);
  const declaration = {
    collection: 'patients',
    recordId,
    name: 'left heel.jpg',
    contentType: 'image/jpeg',
    size: bytes.length,
    sha256: sha256(bytes),
    chunkSize,
    deviceId: 'tablet-7',
  };
  return { id: uuidv7(), bytes, declaration };
}

/** The file requests of one installation: `clientId` goes in the header that names it, when given. */
function filesOf(server: TestServer, token: string, clientId?: string) {
  const origin: Record<string, string> = clientId === undefined ? {} : { 'x-outpost-client-id': clientId };
  return {
    async declare(id: string, declaration: object) {
      const res = await server.request({
        method: 'PUT',
        url: `/v1/files/${id}`,
        token,
        body: declaration,
        headers: origin,
      });
      expect(res.status).toBe(200);
    },
    async chunk(id: string, bytes: Uint8Array, index: number) {
      const part = bytes.subarray(index * chunkSize, (index + 1) * chunkSize);
      const res = await server.app.inject({
        method: 'PUT',
        url: `/v1/files/${id}/chunks/${index}`,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'x-outpost-sha256': sha256(part),
          ...origin,
        },
        payload: Buffer.from(part),
      });
      return res.statusCode;
    },
    async remove(id: string) {
      const res = await server.request({ method: 'DELETE', url: `/v1/files/${id}`, token, headers: origin });
      expect(res.status).toBe(200);
    },
  };
}

describe.each(dialects())('the live stream on %s', (kind) => {
  it("tells a clinic's devices of each commit that changed its records, and no other clinic", async () => {
    const server = await listening(kind);
    const nurseA = await server.token('nurse@clinic-a.test');
    const nurseB = await server.token('nurse@clinic-b.test');
    const a = await stream(server, nurseA);
    const b = await stream(server, nurseB);
    expect(a.status).toBe(200);
    expect(await a.next()).toEqual({ event: 'ready', data: '{}' });
    expect(await b.next()).toEqual({ event: 'ready', data: '{}' });

    await push(server, nurseA, [newPatient('Amina K.')], { clientId: 'tablet-a' });
    expect(await a.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-a"}' });

    // Clinic-b's change reaches clinic-b only: clinic-a's next event is its own next change.
    await push(server, nurseB, [newPatient('Other clinic')], { clientId: 'tablet-b' });
    expect(await b.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-b"}' });
    // A push that changes nothing (a record that does not exist) is not announced either.
    const missing = {
      collection: 'patients',
      type: 'update' as const,
      id: uuidv7(),
      data: { name: 'x' },
      baseVersion: 1,
    };
    const refused = await push(server, nurseA, [missing], { clientId: 'tablet-a' });
    expect(refused.results[0]?.status).toBe('rejected');
    await push(server, nurseA, [newPatient('Chikondi')], { clientId: 'tablet-c' });
    expect(await a.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-c"}' });
  });

  it("tells a clinic's devices when one of its files is complete or deleted, and no other clinic", async () => {
    const server = await listening(kind);
    const nurseA = await server.token('nurse@clinic-a.test');
    const nurseB = await server.token('nurse@clinic-b.test');
    const a = await stream(server, nurseA);
    const b = await stream(server, nurseB);
    expect(await a.next()).toEqual({ event: 'ready', data: '{}' });
    expect(await b.next()).toEqual({ event: 'ready', data: '{}' });
    const tabletA = filesOf(server, nurseA, 'tablet-a');

    // Described and sent in part: nothing to tell yet. The list would show it incomplete, as the
    // device that asks sees for itself; the notice waits for the file to be whole.
    const wound = photo();
    await tabletA.declare(wound.id, wound.declaration);
    expect(await tabletA.chunk(wound.id, wound.bytes, 2)).toBe(200);
    expect(await tabletA.chunk(wound.id, wound.bytes, 0)).toBe(200);
    // The last chunk makes it whole: told, with the uploading installation as its origin.
    expect(await tabletA.chunk(wound.id, wound.bytes, 1)).toBe(200);
    expect(await a.next()).toEqual({ event: 'files', data: '{"origin":"tablet-a"}' });
    // A chunk sent again (its answer lost) changes nothing, and tells nothing.
    expect(await tabletA.chunk(wound.id, wound.bytes, 1)).toBe(200);

    // A file whose whole does not hash as declared is dropped at its last chunk: never complete.
    const damaged = photo();
    await tabletA.declare(damaged.id, {
      ...damaged.declaration,
      size: chunkSize,
      sha256: sha256(Buffer.alloc(chunkSize)),
    });
    expect(await tabletA.chunk(damaged.id, damaged.bytes, 0)).toBe(400);

    // Deleted by a device that does not name itself: told without an origin.
    await filesOf(server, nurseA).remove(wound.id);
    expect(await a.next()).toEqual({ event: 'files', data: '{}' });

    // An upload abandoned goes from the lists of those who saw it under way: told too.
    const abandoned = photo();
    await tabletA.declare(abandoned.id, abandoned.declaration);
    expect(await tabletA.chunk(abandoned.id, abandoned.bytes, 0)).toBe(200);
    await tabletA.remove(abandoned.id);
    expect(await a.next()).toEqual({ event: 'files', data: '{"origin":"tablet-a"}' });

    // An empty file is complete once described.
    const empty = { ...photo().declaration, size: 0, sha256: sha256(Buffer.alloc(0)) };
    await filesOf(server, nurseA, 'tablet-e').declare(uuidv7(), empty);
    expect(await a.next()).toEqual({ event: 'files', data: '{"origin":"tablet-e"}' });

    // A header that names no installation is left out, not refused.
    const unnamed = photo();
    await filesOf(server, nurseA, 'x'.repeat(129)).declare(unnamed.id, unnamed.declaration);
    for (const index of [0, 1, 2])
      await filesOf(server, nurseA, 'x'.repeat(129)).chunk(unnamed.id, unnamed.bytes, index);
    expect(await a.next()).toEqual({ event: 'files', data: '{}' });

    // Clinic-b heard none of it: its next event is its own clinic's.
    const theirs = photo();
    const tabletB = filesOf(server, nurseB, 'tablet-b');
    await tabletB.declare(theirs.id, theirs.declaration);
    for (const index of [0, 1, 2]) expect(await tabletB.chunk(theirs.id, theirs.bytes, index)).toBe(200);
    expect(await b.next()).toEqual({ event: 'files', data: '{"origin":"tablet-b"}' });
    // ...and clinic-a's stream heard nothing of clinic-b's file.
    await push(server, nurseA, [newPatient('After the files')], { clientId: 'tablet-a' });
    expect(await a.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-a"}' });
  });

  it("tells a clinic's devices when the purge of a tombstone takes its record's files", async () => {
    const server = await listening(kind);
    const nurse = await server.token('nurse@clinic-a.test');
    const a = await stream(server, nurse);
    const b = await stream(server, await server.token('nurse@clinic-b.test'));
    expect(await a.next()).toMatchObject({ event: 'ready' });
    expect(await b.next()).toMatchObject({ event: 'ready' });

    const patient = newPatient('Discharged');
    await push(server, nurse, [patient], { clientId: 'tablet-a' });
    expect(await a.next()).toMatchObject({ event: 'changes' });
    const scan = photo(patient.id);
    const tablet = filesOf(server, nurse, 'tablet-a');
    await tablet.declare(scan.id, scan.declaration);
    for (const index of [0, 1, 2]) expect(await tablet.chunk(scan.id, scan.bytes, index)).toBe(200);
    expect(await a.next()).toEqual({ event: 'files', data: '{"origin":"tablet-a"}' });
    await push(server, nurse, [{ collection: 'patients', type: 'delete', id: patient.id, baseVersion: 1 }], {
      clientId: 'tablet-a',
    });
    expect(await a.next()).toMatchObject({ event: 'changes' });

    expect(await server.app.outpost.store.purgeTombstones(new Date(Date.now() + 60_000).toISOString())).toBe(
      1,
    );
    // Purged by no device: no origin.
    expect(await a.next()).toEqual({ event: 'files', data: '{}' });
    // A purge that took no file tells nothing: the next event is the next push's.
    await push(server, nurse, [newPatient('Later')], { clientId: 'tablet-c' });
    expect(await a.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-c"}' });
    await push(server, await server.token('nurse@clinic-b.test'), [newPatient('Theirs')], {
      clientId: 'tablet-b',
    });
    expect(await b.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-b"}' });
  });

  it('refuses a stream without a valid token, and past the streams one user may hold', async () => {
    const server = await listening(kind, { server: { live: { streamsPerUser: 2 } } });
    const anonymous = await stream(server, null);
    expect(anonymous.status).toBe(401);
    const forged = await stream(server, 'not.a.token');
    expect(forged.status).toBe(401);

    const nurse = await server.token('nurse@clinic-a.test');
    const first = await stream(server, nurse);
    const second = await stream(server, nurse);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await stream(server, nurse);
    expect(third.status).toBe(429);
    // Another user of the clinic is not held back by this one's streams.
    const admin = await stream(server, await server.token('admin@clinic-a.test'));
    expect(admin.status).toBe(200);
    // A closed stream frees its place.
    first.close();
    await expect.poll(async () => (await stream(server, nurse)).status).toBe(200);
  });

  it('ends a stream after live.maxStreamMs, so a device behind a load balancer opens a new one', async () => {
    const server = await listening(kind, { server: { live: { maxStreamMs: 300 } } });
    const events = await stream(server, await server.token('nurse@clinic-a.test'));
    expect(await events.next()).toMatchObject({ event: 'ready' });
    expect(await events.next(5000)).toBe('end');
  });

  it("ends the stream at its next heartbeat once every session of the caller was ended (a tablet lost), and no other's", async () => {
    const server = await listening(kind, { server: { live: { heartbeatMs: 200 } } });
    const nurse = await server.token('nurse@clinic-a.test');
    const admin = await server.token('admin@clinic-a.test');
    const lostTablet = await stream(server, nurse);
    const colleague = await stream(server, admin);
    expect(await lostTablet.next()).toMatchObject({ event: 'ready' });
    expect(await colleague.next()).toMatchObject({ event: 'ready' });
    const nurseId = (await server.app.outpost.store.findUserByEmail('nurse@clinic-a.test'))?.id;
    const ended = await server.request({
      method: 'POST',
      url: '/v1/auth/end-sessions',
      token: admin,
      body: { userId: nurseId },
    });
    expect(ended.status).toBe(200);
    expect(await lostTablet.next(5000)).toBe('end');
    // The admin's stream stays open, and is told of the next change as before.
    await push(server, admin, [newPatient('Chisomo Banda')], { clientId: 'desk' });
    expect(await colleague.next()).toMatchObject({ event: 'changes' });
  });

  it("ends the stream at its next heartbeat once its session was signed out, and not the person's other sessions", async () => {
    const server = await listening(kind, { server: { live: { heartbeatMs: 200 } } });
    const signIn = async () =>
      (
        await server.request<{ token: string; refreshToken: string }>({
          method: 'POST',
          url: '/v1/auth/login',
          body: { email: 'nurse@clinic-a.test', password },
        })
      ).body;
    const tablet = await signIn();
    const phone = await signIn();
    const tabletStream = await stream(server, tablet.token);
    const phoneStream = await stream(server, phone.token);
    expect(await tabletStream.next()).toMatchObject({ event: 'ready' });
    expect(await phoneStream.next()).toMatchObject({ event: 'ready' });
    const out = await server.request({
      method: 'POST',
      url: '/v1/auth/logout',
      body: { refreshToken: tablet.refreshToken },
    });
    expect(out.status).toBe(204);
    expect(await tabletStream.next(5000)).toBe('end');
    await push(server, phone.token, [newPatient('Chisomo Banda')], { clientId: 'phone' });
    expect(await phoneStream.next()).toMatchObject({ event: 'changes' });
  });

  it("ends the stream when the caller's token expires, and when the server shuts down", async () => {
    const server = await listening(kind, { server: { auth: { jwtSecret: testSecret, tokenTtlSeconds: 1 } } });
    const nurse = await server.token('nurse@clinic-a.test');
    const expiring = await stream(server, nurse);
    expect(await expiring.next()).toMatchObject({ event: 'ready' });
    expect(await expiring.next(5000)).toBe('end');

    const other = await listening(kind);
    const open = await stream(other, await other.token('nurse@clinic-a.test'));
    expect(await open.next()).toMatchObject({ event: 'ready' });
    // A connection that never sent its request (a browser's preconnect) does not hold up the shutdown.
    const { port } = other.app.server.address() as AddressInfo;
    const silent = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => silent.once('connect', resolve));
    const silentClosed = new Promise((resolve) => silent.once('close', resolve));
    await other.close();
    expect(await open.next()).toBe('end');
    await silentClosed;
  });
});

describe.runIf(dialects().includes('postgres'))('the live stream across server instances', () => {
  it('announces a change committed through one instance to a device connected to another', async () => {
    const storage = await createStorage('postgres');
    const first = await listening('postgres', { storage });
    const second = await listening('postgres', { storage });
    const nurse = await second.token('nurse@clinic-a.test');
    const events = await stream(second, nurse);
    expect(await events.next()).toMatchObject({ event: 'ready' });

    await push(first, await first.token('nurse@clinic-a.test'), [newPatient('Grace Banda')], {
      clientId: 'tablet-on-first',
    });
    expect(await events.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-on-first"}' });
  });

  it('announces a file completed or deleted through one instance to a device connected to another', async () => {
    const storage = await createStorage('postgres');
    const first = await listening('postgres', { storage });
    const second = await listening('postgres', { storage });
    const events = await stream(second, await second.token('nurse@clinic-a.test'));
    const other = await stream(second, await second.token('nurse@clinic-b.test'));
    expect(await events.next()).toMatchObject({ event: 'ready' });
    expect(await other.next()).toMatchObject({ event: 'ready' });

    const tablet = filesOf(first, await first.token('nurse@clinic-a.test'), 'tablet-on-first');
    const wound = photo();
    await tablet.declare(wound.id, wound.declaration);
    for (const index of [0, 1, 2]) expect(await tablet.chunk(wound.id, wound.bytes, index)).toBe(200);
    expect(await events.next()).toEqual({ event: 'files', data: '{"origin":"tablet-on-first"}' });
    await tablet.remove(wound.id);
    expect(await events.next()).toEqual({ event: 'files', data: '{"origin":"tablet-on-first"}' });

    // A transaction that rolls back sends nothing: NOTIFY goes out only on commit.
    const store = first.app.outpost.store;
    await expect(
      store.writeFiles('clinic-a', 'rolled-back', (_trx, changed) => {
        changed();
        return Promise.reject(new Error('the write failed'));
      }),
    ).rejects.toThrow('the write failed');
    await store.writeFiles('clinic-a', 'committed', (_trx, changed) => {
      changed();
      return Promise.resolve();
    });
    expect(await events.next()).toEqual({ event: 'files', data: '{"origin":"committed"}' });
    // Clinic-b's stream on the same instance heard none of clinic-a's.
    await push(first, await first.token('nurse@clinic-b.test'), [newPatient('Theirs')], {
      clientId: 'tablet-b',
    });
    expect(await other.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-b"}' });
  });

  it('after losing its LISTEN connection an instance listens again, and tells its devices to pull', async () => {
    const storage = await createStorage('postgres');
    const first = await listening('postgres', { storage });
    const second = await listening('postgres', { storage });
    const events = await stream(second, await second.token('nurse@clinic-a.test'));
    expect(await events.next()).toMatchObject({ event: 'ready' });

    // An administrator (or a failover) ends the sessions that listen.
    const ended = await sql<{ ended: boolean }>`
      select pg_terminate_backend(pid) as ended from pg_stat_activity
      where datname = current_database() and query ilike 'listen%'`.execute(first.app.outpost.store.db);
    expect(ended.rows.length).toBeGreaterThanOrEqual(2);
    // Whatever was committed while it was gone went unheard: every stream is told to pull, and to
    // ask again for the file lists it shows.
    expect(await events.next()).toEqual({ event: 'changes', data: '{}' });
    expect(await events.next()).toEqual({ event: 'files', data: '{}' });
    await push(first, await first.token('nurse@clinic-a.test'), [newPatient('After the failover')], {
      clientId: 'tablet-after',
    });
    expect(await events.next()).toEqual({ event: 'changes', data: '{"origin":"tablet-after"}' });
  });
});
