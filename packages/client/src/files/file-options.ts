import { maxFileChunkBytes, minFileChunkBytes } from '@outpost/core';
import type { LocalStore } from '../stores/local-store';
import { DEFAULT_FILE_CHUNK_BYTES } from './file-bytes';
import type { LocalFileStore } from './local-file-store';

const encrypted = (kind: string) => kind.startsWith('encrypted(');

/**
 * The chunk size files are cut in, and a refusal, before anything opens, of files that would be
 * kept in the clear beside encrypted records: a clinician's photo says as much about a patient as
 * the notes do. A memory file store keeps nothing at rest and is accepted.
 */
export function checkFileOptions(options: {
  store: LocalStore;
  files?: LocalFileStore;
  fileChunkBytes?: number;
}): number {
  const chunkSize = options.fileChunkBytes ?? DEFAULT_FILE_CHUNK_BYTES;
  if (!Number.isInteger(chunkSize) || chunkSize < minFileChunkBytes || chunkSize > maxFileChunkBytes) {
    throw new RangeError(
      `fileChunkBytes must be a whole number from ${minFileChunkBytes} to ${maxFileChunkBytes}, got ${chunkSize}`,
    );
  }
  const { files } = options;
  if (encrypted(options.store.kind) && files && files.kind !== 'memory' && !encrypted(files.kind)) {
    throw new TypeError(
      `the records are encrypted at rest but the files would not be (${files.kind}): ` +
        'wrap the file store in encryptedFileStore with the same passphrase',
    );
  }
  return chunkSize;
}
