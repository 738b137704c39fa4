// The clinic app beside the API (what `npm start` serves): its files, and its page for every other
// address, so a reload or a link opens the app there; never a server error for an odd address.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStaticApp } from '../src/http/static-app';
import { startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';

describe('the app beside the API', () => {
  let root: string;
  let server: TestServer;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'outpost-app-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Clinic</title>');
    writeFileSync(join(root, 'assets', 'app-1234.js'), 'console.log(1)');
    server = await startTestServer('sqlite');
    await serveStaticApp(server.app, { root });
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
    rmSync(root, { recursive: true, force: true });
  });

  const get = (url: string) => server.app.inject({ method: 'GET', url });

  it('answers a page address with the app, and a file with the file', async () => {
    const page = await get('/patients/0193a0c4-aaaa');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>Clinic</title>');
    const file = await get('/assets/app-1234.js');
    expect(file.body).toBe('console.log(1)');
    expect(file.headers['cache-control']).toContain('immutable');
  });

  it('answers a page address with broken %-encoding with the app, an API address in the error shape', async () => {
    // A link cut short in a message, opened on a device that never had the app: the app says
    // "Page not found" (apps/clinic/test/error-screens.test.ts), as its service worker does later.
    for (const url of ['/patients/%E0', '/%E0', '/patients/%E0?tab=notes']) {
      const page = await get(url);
      expect(page.statusCode, url).toBe(200);
      expect(page.body, url).toContain('<title>Clinic</title>');
    }
    for (const url of ['/v1/%E0', '/watermelon/%E0', '/api/%E0']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(JSON.parse(res.body), url).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
  });

  it('never answers the API’s own addresses with the app', async () => {
    const res = await get('/v1/no-such-route');
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
