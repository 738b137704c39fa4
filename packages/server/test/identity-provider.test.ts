// A clinic's own identity provider: tokens it signs with its private key are checked against the
// public keys it publishes (a JWKS URL, here served on loopback), beside this server's own logins.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { startTestServer, testSecret } from './server-fixture';
import type { TestServer } from './server-fixture';
import { opId } from './sync-client';

const issuer = 'https://idp.clinic.test';
const audience = 'outpost';

describe('tokens of a clinic identity provider (JWKS)', () => {
  let jwks: Server;
  let server: TestServer;
  let plain: TestServer;
  let providerKey: CryptoKey;
  let strangerKey: CryptoKey;

  beforeAll(async () => {
    const provider = await generateKeyPair('RS256');
    providerKey = provider.privateKey;
    strangerKey = (await generateKeyPair('RS256')).privateKey;
    const published = {
      keys: [{ ...(await exportJWK(provider.publicKey)), kid: 'clinic-key-1', alg: 'RS256' }],
    };
    jwks = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    server = await startTestServer('sqlite', {
      server: { auth: { jwtSecret: testSecret, identityProvider: { jwksUrl, issuer, audience } } },
    });
    plain = await startTestServer('sqlite');
  });
  afterAll(async () => {
    for (const s of [server, plain]) {
      await s.close();
      await s.storage.destroy();
    }
    await new Promise((resolve) => jwks.close(resolve));
  });

  function providerToken(
    claims: { aud?: string; exp?: number; tenant?: string } = {},
    key: CryptoKey = providerKey,
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ tenant: claims.tenant ?? 'clinic-a', roles: ['clinician'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'clinic-key-1' })
      .setSubject('idp-user-7')
      .setIssuer(issuer)
      .setAudience(claims.aud ?? audience)
      .setIssuedAt(now)
      .setExpirationTime(claims.exp ?? now + 600)
      .sign(key);
  }

  async function pushAs(target: TestServer, token: string, name: string) {
    const id = uuidv7();
    const res = await target.request<{ results: Array<{ status: string }> }>({
      method: 'POST',
      url: '/v1/sync/push',
      token,
      body: {
        clientId: 'c',
        deviceId: 'd',
        ops: [{ opId: opId(), collection: 'patients', type: 'create', id, data: { name } }],
      },
    });
    return { id, status: res.status, results: res.body.results };
  }

  it("lets a clinician in with the provider's token, in the tenant the token names", async () => {
    const token = await providerToken();
    const pushed = await pushAs(server, token, 'Signed in elsewhere');
    expect(pushed.status).toBe(200);
    expect(pushed.results).toEqual([expect.objectContaining({ status: 'applied' })]);
    const other = await server.token('nurse@clinic-b.test');
    const fromB = await server.request({
      method: 'GET',
      url: `/v1/records/patients/${pushed.id}`,
      token: other,
    });
    expect(fromB.status).toBe(404);
    const fromA = await server.request({ method: 'GET', url: `/v1/records/patients/${pushed.id}`, token });
    expect(fromA.status).toBe(200);
  });

  it('refuses a token made for another application, signed by another key, or expired; logins still work', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const token of [
      await providerToken({ aud: 'another-app' }),
      await providerToken({}, strangerKey),
      await providerToken({ exp: now - 60 }),
    ]) {
      const res = await server.request<{ error: { code: string } }>({
        method: 'GET',
        url: '/v1/sync/pull',
        token,
      });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    }
    const login = await server.token('nurse@clinic-a.test');
    expect((await pushAs(server, login, 'Signed in here')).status).toBe(200);
  });

  it('refuses provider tokens on a server that names no provider', async () => {
    expect((await pushAs(plain, await providerToken(), 'Nobody vouches')).status).toBe(401);
  });
});
