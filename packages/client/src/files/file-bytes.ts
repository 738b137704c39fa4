import { bytesToHex, chunkCountOf } from '@outpost/core';

/** 256 KiB: a chunk lost to a dropped link costs seconds on a slow one, and a photo is a few requests. */
export const DEFAULT_FILE_CHUNK_BYTES = 256 * 1024;

/** SHA-256 in lowercase hex, through WebCrypto (browsers and Node alike). */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new Error(
      'files need WebCrypto (crypto.subtle), which browsers only provide on https or localhost',
    );
  }
  return bytesToHex(new Uint8Array(await subtle.digest('SHA-256', bytes)));
}

/** The bytes of what the app attaches, in one buffer of their own. */
export async function bytesOf(input: Blob | Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (input instanceof Uint8Array) return new Uint8Array(input);
  return new Uint8Array(await input.arrayBuffer());
}

/** The file cut in chunks of `chunkSize` (the last holds what is left), each a copy of its own. */
export function splitChunks(
  bytes: Uint8Array<ArrayBuffer>,
  chunkSize: number,
): Array<Uint8Array<ArrayBuffer>> {
  const chunks: Array<Uint8Array<ArrayBuffer>> = [];
  const count = chunkCountOf(bytes.byteLength, chunkSize);
  for (let i = 0; i < count; i++) chunks.push(bytes.slice(i * chunkSize, (i + 1) * chunkSize));
  return chunks;
}

/** One buffer of the given pieces, in order. */
export function joinBytes(pieces: ReadonlyArray<Uint8Array>, length?: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length ?? pieces.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.byteLength;
  }
  return out;
}
