// What Node's HTTP parser refuses, or gives up waiting for, never reaches a route: it is answered
// from Fastify's clientErrorHandler, in PROTOCOL.md's error shape all the same, as are the requests
// Node itself would refuse with an empty body (no Host, an unknown Expect). Raw bytes over a
// real socket, since inject() never goes through the parser.
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';

interface RawAnswer {
  /** Everything the server sent before it closed the socket. */
  text: string;
  closedAfterMs: number;
}

/** Sends bytes on a fresh connection and collects what comes back until the server closes it. */
function sendRaw(port: number, bytes: string, giveUpMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    const chunks: Buffer[] = [];
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the socket open ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the answer is a close like any other here: what was sent is in the chunks.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedAfterMs: Date.now() - started });
    });
    socket.write(bytes);
  });
}

/** Splits one HTTP/1.1 answer into its status line, headers (lower-cased names) and parsed body. */
function parseAnswer(text: string) {
  const split = text.indexOf('\r\n\r\n');
  expect(split).toBeGreaterThan(0);
  const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  const body = text.slice(split + 4);
  return { statusLine, headers, body, json: JSON.parse(body) as unknown };
}

/** Asserts an answer in PROTOCOL.md's shape with its status line and code, returned for more checks. */
function expectOurError(text: string, statusLine: string, code: string) {
  const answer = parseAnswer(text);
  expect(answer.statusLine).toBe(statusLine);
  expect(answer.json).toEqual({ error: { code, message: expect.any(String) } });
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(answer.headers['connection']).toBe('close');
  expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  return answer;
}

function portOf(server: TestServer): number {
  return (server.app.server.address() as AddressInfo).port;
}

describe('requests Node refuses before any route', () => {
  let server: TestServer;
  let port: number;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    port = portOf(server);
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  const notHttp: Record<string, string> = {
    'an unknown method': 'FOO /v1/sync/pull HTTP/1.1\r\nHost: x\r\n\r\n',
    'a header name with a space': 'GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n',
    'Content-Length with Transfer-Encoding':
      'POST /v1/sync/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'a path without a leading /': 'GET v1/health HTTP/1.1\r\nHost: x\r\n\r\n',
    'line ends without CR': 'GET /v1/health HTTP/1.1\nHost: x\n\n',
  };

  it.each(Object.entries(notHttp))('%s -> 400 VALIDATION_FAILED, connection closed', async (_, bytes) => {
    const { text } = await sendRaw(port, bytes);
    const answer = expectOurError(text, 'HTTP/1.1 400 Bad Request', 'VALIDATION_FAILED');
    expect(answer.json).toEqual({
      error: { code: 'VALIDATION_FAILED', message: 'the request is not valid HTTP' },
    });
  });

  it('headers over 16 KB -> 431 PAYLOAD_TOO_LARGE', async () => {
    const { text } = await sendRaw(
      port,
      `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    const answer = expectOurError(text, 'HTTP/1.1 431 Request Header Fields Too Large', 'PAYLOAD_TOO_LARGE');
    expect(answer.json).toMatchObject({ error: { message: expect.stringMatching(/headers are too large/) } });
  });

  it('a well-formed request is still answered as before', async () => {
    const { text } = await sendRaw(port, 'GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const answer = parseAnswer(text);
    expect(answer.statusLine).toBe('HTTP/1.1 200 OK');
    expect(answer.json).toMatchObject({ status: 'ok' });
  });

  it('an HTTP/1.1 request without Host -> 400 in our shape; HTTP/1.0 needs none', async () => {
    const { text } = await sendRaw(port, 'GET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n');
    const answer = parseAnswer(text);
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.json).toEqual({
      error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/Host header/) },
    });
    const old = await sendRaw(port, 'GET /v1/health HTTP/1.0\r\n\r\n');
    expect(parseAnswer(old.text).json).toMatchObject({ status: 'ok' });
  });

  it('an Expect other than 100-continue -> 417 in our shape, connection closed', async () => {
    const { text } = await sendRaw(
      port,
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Type: application/json\r\n' +
        'Content-Length: 2\r\n\r\n{}',
    );
    const answer = expectOurError(text, 'HTTP/1.1 417 Expectation Failed', 'VALIDATION_FAILED');
    expect(answer.json).toMatchObject({ error: { message: expect.stringMatching(/100-continue/) } });
  });

  it('Expect: 100-continue is met: the body is asked for and the route answers', async () => {
    const body = JSON.stringify({ email: 'nurse@clinic-a.test', password: 'not the password' });
    const { text } = await sendRaw(
      port,
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n' +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).toBe(true);
    const answer = parseAnswer(text.slice('HTTP/1.1 100 Continue\r\n\r\n'.length));
    expect(answer.statusLine).toBe('HTTP/1.1 401 Unauthorized');
    expect(answer.json).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('the request timeout is on by default, at Node’s 5 minutes', () => {
    expect(server.app.server.requestTimeout).toBe(300_000);
    expect(server.app.server.headersTimeout).toBe(60_000);
  });
});

describe('a request that never arrives in full', () => {
  let server: TestServer;
  let port: number;
  let nurse: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite', {
      server: { limits: { rateLimitPerMinute: false, requestTimeoutMs: 500 } },
    });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    port = portOf(server);
    nurse = await server.token('nurse@clinic-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  it('a body that stops short of its Content-Length -> 408 in our shape, socket closed', async () => {
    const { text, closedAfterMs } = await sendRaw(
      port,
      `POST /v1/sync/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${nurse}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"clientId":',
      5_000,
    );
    expect(closedAfterMs).toBeGreaterThanOrEqual(400);
    const answer = expectOurError(text, 'HTTP/1.1 408 Request Timeout', 'INTERNAL');
    expect(answer.json).toMatchObject({ error: { message: expect.stringMatching(/in time/) } });
  });

  it('headers that never end -> the same', async () => {
    const { text } = await sendRaw(port, 'GET /v1/health HTTP/1.1\r\nHost: x\r\n', 5_000);
    expectOurError(text, 'HTTP/1.1 408 Request Timeout', 'INTERNAL');
  });

  it('a request that arrives in time is answered as before', async () => {
    const { text } = await sendRaw(
      port,
      `GET /v1/sync/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${nurse}\r\nConnection: close\r\n\r\n`,
    );
    expect(parseAnswer(text).statusLine).toBe('HTTP/1.1 200 OK');
  });
});
