// The client's protocol calls against a real server on SQLite over a loopback port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import {
  CursorExpiredError,
  HlcClock,
  OutpostError,
  UnauthorizedError,
  ValidationError,
  isOutpostError,
  uuidv7,
} from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { createSyncServer, ensureUsers, openSqlite } from '@outpost/server';
import { createHttpTransport } from '../src/index';

describe('http transport', () => {
  let app: FastifyInstance;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'outpost-client-'));

  beforeAll(async () => {
    app = await createSyncServer({
      schema: fieldClinic,
      database: await openSqlite(join(dir, 'outpost.sqlite')),
      auth: { jwtSecret: 'client-test-secret-client-test-secret' },
    });
    await ensureUsers(app.outpost.store, [
      { email: 'nurse@clinic-a.test', password: 'pw', tenant: 'clinic-a', roles: ['clinician'] },
    ]);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in, pushes and pulls', async () => {
    let token: string | null = null;
    const api = createHttpTransport({ url, getToken: async () => token });
    const login = await api.login('nurse@clinic-a.test', 'pw');
    token = login.token;
    expect(login.user.tenant).toBe('clinic-a');
    const clock = new HlcClock({ node: 'tablet-7' });
    const id = uuidv7();
    const pushed = await api.push({
      clientId: 'c',
      deviceId: 'tablet-7',
      ops: [
        {
          opId: uuidv7(),
          collection: 'patients',
          type: 'create',
          id,
          data: { name: 'Amina K.' },
          hlc: clock.tick(),
        },
      ],
    });
    expect(pushed.results[0]).toMatchObject({ status: 'applied', id, version: 1 });
    const pulled = await api.pull({ collections: ['patients'], deviceId: 'tablet-7' });
    expect(pulled.changes.map((c) => c.data)).toEqual([{ name: 'Amina K.' }]);
  });

  it('surfaces server errors with their protocol code', async () => {
    const api = createHttpTransport({ url, getToken: async () => 'not-a-token' });
    const error = await api.pull().catch((e: unknown) => e);
    expect(isOutpostError(error) && error.code).toBe('UNAUTHORIZED');
    // Of its kind's class too, as every error of that code is.
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).toBeInstanceOf(OutpostError);
  });

  it('makes each answer refused of the class of its code: catch by class or by code alike', async () => {
    let token: string | null = null;
    const api = createHttpTransport({ url, getToken: async () => token });
    token = (await api.login('nurse@clinic-a.test', 'pw')).token;
    const badCursor = await api.pull({ cursor: 'not-a-cursor' }).catch((e: unknown) => e);
    expect(badCursor).toBeInstanceOf(ValidationError);
    expect(badCursor).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, name: 'OutpostError' });
    expect(badCursor).not.toBeInstanceOf(CursorExpiredError);
  });
});
