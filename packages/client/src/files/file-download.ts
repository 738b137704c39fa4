import { isOutpostError } from '@outpost/core';
import type { FileStatus } from '@outpost/core';
import { FileUnavailableError } from './file-errors';
import { joinBytes, sha256Hex } from './file-bytes';
import type { FileTransport } from './file-transport';

/**
 * A download cut off midway goes on from the byte it reached (`Range: bytes=N-`), this many times
 * within one call; a photo opened on a link that drops every few minutes still arrives.
 */
const MAX_RESUMES = 3;
/** What arrived whole but did not match the file's SHA-256 is fetched once more from the start. */
const MAX_WHOLE_FETCHES = 2;

/** The server's refusals that say where the file stands, as the error `get` gives. */
function unavailable(id: string, err: unknown): unknown {
  if (!isOutpostError(err)) {
    return new FileUnavailableError(
      id,
      'offline',
      `file ${id} is not on this device and the server cannot be reached`,
      {
        cause: err,
      },
    );
  }
  if (err.code === 'NOT_FOUND') {
    return new FileUnavailableError(id, 'not-found', `the server has no file ${id} (not uploaded yet?)`, {
      cause: err,
    });
  }
  if (err.code === 'CONFLICT') {
    return new FileUnavailableError(id, 'incomplete', `the server is still receiving file ${id}`, {
      cause: err,
    });
  }
  return err;
}

/**
 * A file's description and bytes from the server: its status, then its content, resumed with a
 * range where the connection broke, and checked against the file's SHA-256 (the status's, and the
 * one the content answer names) before the caller keeps it.
 */
export async function downloadFile(
  transport: FileTransport,
  id: string,
  signal: AbortSignal,
): Promise<{ status: FileStatus; bytes: Uint8Array<ArrayBuffer> }> {
  let status: FileStatus;
  try {
    status = await transport.status(id, { signal });
  } catch (err) {
    signal.throwIfAborted();
    throw unavailable(id, err);
  }
  if (!status.complete) {
    throw new FileUnavailableError(id, 'incomplete', `the server is still receiving file ${id}`);
  }
  for (let fetches = 1; ; fetches++) {
    const { bytes, named } = await fetchContent(transport, id, status.size, signal);
    const actual = await sha256Hex(bytes);
    if (actual === status.sha256 && (named === null || named === status.sha256)) return { status, bytes };
    if (fetches >= MAX_WHOLE_FETCHES) {
      throw new FileUnavailableError(
        id,
        'checksum',
        `file ${id} did not match its SHA-256 after ${fetches} downloads: nothing was kept`,
      );
    }
  }
}

async function fetchContent(
  transport: FileTransport,
  id: string,
  size: number,
  signal: AbortSignal,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; named: string | null }> {
  let pieces: Uint8Array[] = [];
  let received = 0;
  let named: string | null = null;
  let failures = 0;
  // An empty file has no bytes to ask for (its range would be unsatisfiable).
  while (received < size) {
    try {
      const content = await transport.content(id, received, { signal });
      if (content.start !== received) {
        // The server sent the whole file rather than the range: start again from its first byte.
        if (content.start !== 0)
          throw new Error(`asked for file ${id} from byte ${received}, got ${content.start}`);
        pieces = [];
        received = 0;
      }
      named = content.sha256 ?? named;
      const reader = content.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (received + value.byteLength > size)
          throw new Error(`file ${id} came longer than its ${size} bytes`);
        pieces.push(value);
        received += value.byteLength;
      }
      if (received < size) throw new Error(`file ${id} ended after ${received} of ${size} bytes`);
    } catch (err) {
      signal.throwIfAborted();
      if (isOutpostError(err) && err.code === 'RANGE_NOT_SATISFIABLE' && received === size) break;
      // A refusal (404, 409, 403...) is an answer, not a broken link: resuming would not change it.
      if (isOutpostError(err) && err.status < 500 && err.code !== 'RATE_LIMITED') throw unavailable(id, err);
      failures += 1;
      if (failures > MAX_RESUMES) throw unavailable(id, err);
    }
  }
  return { bytes: joinBytes(pieces, size), named };
}
