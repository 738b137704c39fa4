import { isOutpostError } from '@outpost/core';
import type { FileStatus } from '@outpost/core';
import type { FileWrite, StoredFile } from './local-file-store';

/**
 * What the server lists of one record's files (`GET /v1/files?collection=&recordId=`), kept on the
 * device as descriptions: how a doctor's tablet learns of the wound photo a nurse attached on hers.
 * Never bytes: those come when someone opens the file (`files.get`), as decision 0022 keeps every
 * photo of the clinic off every tablet.
 */

/** A file another device attached, as this device keeps it before anyone opens it. */
export function describedFromServer(status: FileStatus): StoredFile {
  return {
    id: status.id,
    collection: status.collection,
    recordId: status.recordId,
    name: status.name,
    contentType: status.contentType,
    size: status.size,
    sha256: status.sha256,
    chunkSize: status.chunkSize,
    chunkCount: status.chunkCount,
    // The server does not give each chunk's hash; a download computes them from the checked bytes.
    chunkSha256: [],
    createdAt: status.createdAt,
    origin: 'server',
    state: status.complete ? 'synced' : 'incomplete',
    chunksUploaded: status.chunkCount - status.missingChunks.length,
    held: false,
    attempts: 0,
    ...(status.completedAt !== null ? { uploadedAt: status.completedAt } : {}),
  };
}

/** Whether two descriptions of a server's file show the same thing (no write, no re-render, when they do). */
function sameStanding(a: StoredFile, b: StoredFile): boolean {
  return a.state === b.state && a.chunksUploaded === b.chunksUploaded && a.uploadedAt === b.uploadedAt;
}

/**
 * The write that brings the device's descriptions of one record's files in line with the server's
 * list, computed against what the device holds now:
 * - a file attached on this device is left as it is, whatever the list says: its upload's state is
 *   the device's own (a photo waiting offline must not turn "synced" because a declaration arrived);
 * - a file the device did not know is described, 'synced' or 'incomplete', never with its bytes;
 * - one it knew from the server takes the server's progress (an upload elsewhere that finished);
 * - one from the server that the list no longer names is dropped when the device holds only its
 *   description (it points at nothing now), and kept when the device holds its bytes: a clinician
 *   opened it, and it stays readable on this tablet until they discard it.
 */
export function listedWrite(
  files: ReadonlyMap<string, StoredFile>,
  record: { collection: string; recordId: string },
  listed: readonly FileStatus[],
): FileWrite | null {
  const ofRecord = listed.filter((s) => s.collection === record.collection && s.recordId === record.recordId);
  const putFiles: StoredFile[] = [];
  for (const status of ofRecord) {
    const known = files.get(status.id);
    const described = describedFromServer(status);
    if (!known) putFiles.push(described);
    else if (known.origin === 'server' && !known.held && !sameStanding(known, described)) {
      putFiles.push({
        ...known,
        state: described.state,
        chunksUploaded: described.chunksUploaded,
        ...(described.uploadedAt ? { uploadedAt: described.uploadedAt } : {}),
      });
    }
  }
  const named = new Set(ofRecord.map((s) => s.id));
  const deleteFiles = [...files.values()]
    .filter(
      (f) =>
        f.origin === 'server' &&
        !f.held &&
        f.collection === record.collection &&
        f.recordId === record.recordId &&
        !named.has(f.id),
    )
    .map((f) => f.id);
  return putFiles.length === 0 && deleteFiles.length === 0 ? null : { putFiles, deleteFiles };
}

/**
 * The server could not be reached, or could not answer now: the network, a 5xx, the rate limit.
 * Not an error for a screen that asks whenever it opens: offline is a field tablet's everyday state.
 * A refusal (403, 404, 401) is an answer, and is thrown.
 */
export function unreached(err: unknown): boolean {
  if (!isOutpostError(err)) return true;
  return err.status >= 500 || err.code === 'RATE_LIMITED';
}
