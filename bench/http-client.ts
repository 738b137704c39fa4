// The device side of the throughput benchmark: the least an HTTP client can do and still speak the
// protocol in full. It shares this process, and so this core, with the server it measures; whatever
// it spends is counted as the server's. A device's fetch runs on the device, so here the client is
// node:http on a keep-alive connection, each response read whole, gunzipped in one call and parsed
// in one JSON.parse. fetch (undici) streamed each gzipped page through zlib in the thread pool and
// cost the 20,000-change pull on SQLite about 80 ms more, a third of what the server itself spends.
import http from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** A response body as sent, undone by the one call its content-encoding names. */
function decode(body: Buffer, encoding: string | undefined): Buffer {
  if (encoding === 'br') return brotliDecompressSync(body);
  if (encoding === 'gzip') return gunzipSync(body);
  if (encoding === 'deflate') return inflateSync(body);
  if (encoding === undefined || encoding === 'identity') return body;
  throw new Error(`the server answered in an encoding not asked for: ${encoding}`);
}

export interface JsonClient {
  get(path: string, headers: Readonly<Record<string, string>>): Promise<unknown>;
  post(path: string, body: string, headers: Readonly<Record<string, string>>): Promise<unknown>;
  close(): void;
}

/** A client for `base` (`http://127.0.0.1:<port>`) that throws on any status other than 2xx. */
export function jsonClient(base: string): JsonClient {
  const { hostname, port } = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  function send(
    method: 'GET' | 'POST',
    path: string,
    headers: Readonly<Record<string, string>>,
    body?: string,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: hostname,
          port,
          path,
          method,
          agent,
          headers:
            body === undefined
              ? headers
              : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            try {
              const raw = Buffer.concat(chunks);
              const text = decode(raw, response.headers['content-encoding']).toString();
              const status = response.statusCode ?? 0;
              if (status < 200 || status > 299) {
                throw new Error(`${method} ${path} answered ${status}: ${text.slice(0, 500)}`);
              }
              resolve(JSON.parse(text));
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  return {
    get: (path, headers) => send('GET', path, headers),
    post: (path, body, headers) => send('POST', path, headers, body),
    close: () => agent.destroy(),
  };
}
