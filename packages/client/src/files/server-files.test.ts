import { describe, expect, it } from 'vitest';
import type { FileStatus } from '@outpost/core';
import type { StoredFile } from './local-file-store';
import { describedFromServer, listedWrite } from './server-files';

const record = { collection: 'encounters', recordId: 'enc-1' };

function status(id: string, extra: Partial<FileStatus> = {}): FileStatus {
  return {
    id,
    collection: 'encounters',
    recordId: 'enc-1',
    name: `${id}.jpg`,
    contentType: 'image/jpeg',
    size: 3000,
    sha256: 'a'.repeat(64),
    chunkSize: 1024,
    chunkCount: 3,
    missingChunks: [],
    complete: true,
    createdBy: 'nurse',
    createdAt: '2026-11-22T08:00:00.000Z',
    completedAt: '2026-11-22T08:01:00.000Z',
    ...extra,
  };
}

function held(file: StoredFile): StoredFile {
  return { ...file, held: true, chunkSha256: ['b'.repeat(64), 'c'.repeat(64), 'd'.repeat(64)] };
}

const mirror = (...files: StoredFile[]) => new Map(files.map((f) => [f.id, f]));

describe("listedWrite: the server's list of one record's files, kept as descriptions", () => {
  it('describes files the device did not know, complete or still uploading, without bytes', () => {
    const write = listedWrite(mirror(), record, [
      status('f-1'),
      status('f-2', { complete: false, missingChunks: [1, 2], completedAt: null }),
    ]);
    expect(write?.putFiles).toEqual([
      expect.objectContaining({
        id: 'f-1',
        origin: 'server',
        state: 'synced',
        held: false,
        chunksUploaded: 3,
      }),
      expect.objectContaining({
        id: 'f-2',
        origin: 'server',
        state: 'incomplete',
        held: false,
        chunksUploaded: 1,
      }),
    ]);
    expect(write?.putChunks).toBeUndefined();
  });

  it('never touches a file attached on this device, even one the list would call complete', () => {
    const own: StoredFile = {
      ...held(describedFromServer(status('mine'))),
      origin: 'device',
      state: 'waiting',
      chunksUploaded: 1,
    };
    expect(listedWrite(mirror(own), record, [status('mine')])).toBeNull();
    // Nor drops it when the server does not list it (not declared yet).
    expect(listedWrite(mirror(own), record, [])).toBeNull();
  });

  it("takes the server's progress for a file from the server, and writes nothing when nothing changed", () => {
    const arriving = describedFromServer(
      status('f-1', { complete: false, missingChunks: [2], completedAt: null }),
    );
    expect(
      listedWrite(mirror(arriving), record, [
        status('f-1', { complete: false, missingChunks: [2], completedAt: null }),
      ]),
    ).toBeNull();
    expect(listedWrite(mirror(arriving), record, [status('f-1')])?.putFiles).toEqual([
      expect.objectContaining({
        id: 'f-1',
        state: 'synced',
        chunksUploaded: 3,
        uploadedAt: '2026-11-22T08:01:00.000Z',
      }),
    ]);
  });

  it('drops a description the server no longer lists, but keeps one whose bytes this device holds', () => {
    const described = describedFromServer(status('gone'));
    const opened = held(describedFromServer(status('opened')));
    const elsewhere = describedFromServer(status('other-record', { recordId: 'enc-2' }));
    const write = listedWrite(mirror(described, opened, elsewhere), record, []);
    expect(write).toEqual({ putFiles: [], deleteFiles: ['gone'] });
  });
});
