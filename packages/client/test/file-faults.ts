// The faults a field link does to files, injected on the file routes only: a link that drops after
// some chunks, an answer lost after the server stored a chunk, a byte flipped on the way, a
// download cut midway, a server failing. Every chunk request that reached the server is logged.
import { createHash } from 'node:crypto';

/** Deterministic bytes of every value, so a lost or shifted byte shows. */
export function photo(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let x = seed * 2_654_435_761;
  for (let i = 0; i < size; i++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** SHA-256 in hex, by Node's own implementation rather than the client's WebCrypto. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function bytesOfBlob(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

/** A body that gives its first `limit` bytes, then breaks as a dropped connection does. */
function cutAfter(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let passed = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (passed >= limit) {
        await reader.cancel();
        controller.error(new TypeError('terminated: the connection was reset'));
        return;
      }
      const { done, value } = await reader.read();
      if (done) return controller.close();
      const piece = value.subarray(0, limit - passed);
      passed += piece.byteLength;
      controller.enqueue(piece);
    },
  });
}

const chunkPath = /^\/v1\/files\/[^/]+\/chunks\/(\d+)$/;

export class FileFaults {
  /** The index of each chunk request that reached the server, in order. */
  readonly chunksSent: number[] = [];
  /** Every request to a files route that reached the server: method and path. */
  readonly fileRequests: string[] = [];
  /** The Range header of each content request (null: none). */
  readonly ranges: Array<string | null> = [];
  /** Chunk requests that reach the server before the link drops (those after fail before it). */
  cutAfterChunks = Infinity;
  /** This chunk reaches the server, and its answer is lost. */
  loseAnswerOfChunk: number | null = null;
  /** The next delete reaches the server, and its answer is lost. */
  loseAnswerOfDelete = false;
  /** This chunk's first byte is flipped on the way, once. */
  corruptChunk: number | null = null;
  /** The next content answer breaks after this many bytes. */
  cutDownloadAfter: number | null = null;
  /** The next declarations, this many, name another whole-file SHA-256 than the chunks add up to. */
  corruptDeclarations = 0;
  /** Every files route answers 503, as a server being restarted does. */
  filesDown = false;

  constructor(private readonly inner: typeof fetch) {}

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    if (!url.pathname.startsWith('/v1/files')) return this.inner(input, init);
    if (this.filesDown) {
      return new Response(JSON.stringify({ error: { code: 'INTERNAL', message: 'restarting' } }), {
        status: 503,
        headers: { 'content-type': 'application/json' },
      });
    }
    if (this.corruptDeclarations > 0 && init?.method === 'PUT' && typeof init.body === 'string') {
      this.corruptDeclarations -= 1;
      const declaration = JSON.parse(init.body) as { sha256: string };
      declaration.sha256 = `${declaration.sha256[0] === '0' ? '1' : '0'}${declaration.sha256.slice(1)}`;
      init = { ...init, body: JSON.stringify(declaration) };
    }
    const chunk = chunkPath.exec(url.pathname);
    if (chunk) {
      const index = Number(chunk[1]);
      if (this.chunksSent.length >= this.cutAfterChunks)
        throw new TypeError('fetch failed: the link dropped');
      this.chunksSent.push(index);
      if (this.corruptChunk === index) {
        this.corruptChunk = null;
        const damaged = new Uint8Array(init?.body as Uint8Array);
        damaged[0] = (damaged[0] ?? 0) ^ 0xff;
        init = { ...init, body: damaged };
      }
    }
    this.fileRequests.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    if (url.pathname.endsWith('/content')) this.ranges.push(new Headers(init?.headers).get('range'));
    const res = await this.inner(input, init);
    if (init?.method === 'DELETE' && this.loseAnswerOfDelete) {
      this.loseAnswerOfDelete = false;
      await res.arrayBuffer();
      throw new TypeError('fetch failed: connection reset after the request was sent');
    }
    if (chunk && this.loseAnswerOfChunk === Number(chunk[1])) {
      this.loseAnswerOfChunk = null;
      await res.arrayBuffer();
      throw new TypeError('fetch failed: connection reset after the request was sent');
    }
    if (url.pathname.endsWith('/content') && this.cutDownloadAfter !== null && res.body) {
      const limit = this.cutDownloadAfter;
      this.cutDownloadAfter = null;
      return new Response(cutAfter(res.body, limit), { status: res.status, headers: res.headers });
    }
    return res;
  };
}
