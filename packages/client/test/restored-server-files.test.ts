// The files a tablet uploaded after the clinic's last backup are gone from a server restored from it
// (files live in the database, decision 0022), as the records are. The tablet that still holds a
// photo gives it back with the sync that meets the restored server (decision 0050, "Files"): it
// declares again each file it holds whole and believed the server held, and sends the chunks the
// server answers it lacks; a photo the backup kept costs one declaration and no bytes. The mark
// that says so survives the app stopping between the re-read and the uploads.
import { afterEach, describe, expect, it } from 'vitest';
import { restoredClinic } from './restored-clinic';
import type { Cleanups, RestoredClinic } from './restored-clinic';
import type { SyncClient, SyncResult } from '../src/index';
import { photo, sha256 } from './file-faults';

const KiB = 1024;

/** The chunk PUTs the tablet sent since `from` (an index into `network.sent`), as `<file id>/<index>`. */
function chunkPuts(c: RestoredClinic, from = 0): string[] {
  return c.network.sent
    .slice(from)
    .filter((s) => s.method === 'PUT' && /^\/v1\/files\/[^/]+\/chunks\/\d+$/.test(s.path))
    .map((s) => s.path.replace(/^\/v1\/files\//, '').replace('/chunks/', '/'));
}

/**
 * The tablet's first sync with the restored server, tried again when its first request met the
 * connection kept alive to the stopped server (it never reached the restored one): the result of
 * the sync that met the restore. Not `c.sync()`, which tries again after any failure of the network.
 */
async function syncMeetingRestore(tablet: SyncClient): Promise<SyncResult> {
  const result = await tablet.sync();
  return result.restored === undefined && result.error?.code === 'NETWORK' ? tablet.sync() : result;
}

/** The declarations the tablet sent since `from`, by file id. */
function declarations(c: RestoredClinic, from = 0): string[] {
  return c.network.sent
    .slice(from)
    .filter((s) => s.method === 'PUT' && /^\/v1\/files\/[^/]+$/.test(s.path))
    .map((s) => s.path.replace(/^\/v1\/files\//, ''));
}

describe('the photos a tablet uploaded after the backup, on a restored server', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** Small chunks: a photo is a few of them, each counted on the network. */
  const clinic = () => restoredClinic(cleanups, { fileChunkBytes: KiB });

  it('go back with the patient given back: the restored server has the photo’s bytes again', async () => {
    const c = await clinic();
    await c.backup();
    // After the backup: a patient registered, her wound photographed, both synced.
    const grace = await c.patients.create({ name: 'Grace' });
    const bytes = photo(3 * KiB + 100, 7);
    const wound = await c.tablet.files.attach(new Blob([bytes], { type: 'image/jpeg' }), {
      collection: 'patients',
      recordId: grace.id,
      name: 'wound, day 1.jpg',
    });
    const first = await c.sync();
    expect(first.success, JSON.stringify(first.error)).toBe(true);
    expect(first.files.uploaded).toBe(1);
    expect(c.tablet.files.status(wound.id)).toMatchObject({ state: 'synced', held: true });
    expect(sha256((await c.fileOnServer(wound.id)) ?? new Uint8Array())).toBe(sha256(bytes));

    await c.restore();
    // The backup had neither Grace nor her photo.
    expect(await c.fileOnServer(wound.id)).toBeNull();
    const sent = c.network.sent.length;
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    expect(result.restored).toEqual({ resent: 1, files: 1 });
    expect(result.files).toEqual({ uploaded: 1, waiting: 0, failed: 0 });
    // Declared again, and every chunk sent: the restored server had none of it.
    expect(declarations(c, sent)).toEqual([wound.id]);
    expect(chunkPuts(c, sent)).toEqual([0, 1, 2, 3].map((i) => `${wound.id}/${i}`));

    // Grace and her photo, byte for byte, are the clinic's again.
    expect((await c.onServer()).get(grace.id)).toEqual({ name: 'Grace' });
    const back = await c.fileOnServer(wound.id);
    expect(back).not.toBeNull();
    expect(Buffer.from(back!).equals(Buffer.from(bytes))).toBe(true);
    expect(c.tablet.files.status(wound.id)).toMatchObject({ state: 'synced', held: true, chunksUploaded: 4 });

    // Once: the next sync sends nothing of it.
    const again = c.network.sent.length;
    const next = await c.sync();
    expect(next.restored).toBeUndefined();
    expect(declarations(c, again)).toEqual([]);
  });

  it('a photo the backup kept costs one declaration and no chunk; one taken since of a patient the backup had goes whole', async () => {
    const c = await clinic();
    const kept = photo(2 * KiB + 10, 1);
    const before = await c.tablet.files.attach(new Blob([kept]), {
      collection: 'patients',
      recordId: c.amina.id,
      name: 'rash.jpg',
    });
    expect((await c.sync()).files.uploaded).toBe(1);
    await c.backup();
    // After the backup, a second photo of Amina: her record is not changed, only the photo is new.
    const taken = photo(KiB + 1, 2);
    const after = await c.tablet.files.attach(new Blob([taken]), {
      collection: 'patients',
      recordId: c.amina.id,
      name: 'rash, a week later.jpg',
    });
    expect((await c.sync()).files.uploaded).toBe(1);

    await c.restore();
    const sent = c.network.sent.length;
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // No record to give back, two files declared again.
    expect(result.restored).toEqual({ resent: 0, files: 2 });
    expect(declarations(c, sent).sort()).toEqual([before.id, after.id].sort());
    // The server answered the first declaration complete: no byte of it went. The second, all.
    expect(chunkPuts(c, sent)).toEqual([`${after.id}/0`, `${after.id}/1`]);
    expect(result.files.uploaded).toBe(2);
    expect(Buffer.from((await c.fileOnServer(after.id))!).equals(Buffer.from(taken))).toBe(true);
    expect(Buffer.from((await c.fileOnServer(before.id))!).equals(Buffer.from(kept))).toBe(true);
    expect(c.tablet.files.list().map((f) => f.state)).toEqual(['synced', 'synced']);
  });

  it('the app stopped between the re-read and the uploads: opened again, the tablet still sends the photo', async () => {
    const c = await clinic();
    await c.backup();
    const grace = await c.patients.create({ name: 'Grace' });
    const bytes = photo(2 * KiB, 3);
    const wound = await c.tablet.files.attach(new Blob([bytes]), {
      collection: 'patients',
      recordId: grace.id,
      name: 'wound.jpg',
    });
    expect((await c.sync()).files.uploaded).toBe(1);

    await c.restore();
    // The link drops as the uploads start: the re-read and the records' push went, the photo not.
    c.hooks.filesOffline = true;
    const cut = await syncMeetingRestore(c.tablet);
    expect(cut.success).toBe(false);
    expect(cut.restored).toEqual({ resent: 1, files: 1 });
    expect((await c.onServer()).get(grace.id)).toEqual({ name: 'Grace' });
    expect(await c.fileOnServer(wound.id)).toBeNull();
    // The tablet says what is true: the photo is waiting, not on the server (and may not be evicted).
    expect(c.tablet.files.status(wound.id)).toMatchObject({ state: 'waiting', held: true });
    await expect(c.tablet.files.evict(wound.id)).rejects.toMatchObject({ code: 'CONFLICT' });

    // The app is closed and opened again, back on the clinic's wifi.
    await c.tablet.close();
    c.hooks.filesOffline = false;
    const reopened = await c.openTablet();
    expect(reopened.files.status(wound.id)).toMatchObject({ state: 'waiting', held: true });
    const sent = c.network.sent.length;
    const result = await reopened.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    expect(result.files.uploaded).toBe(1);
    expect(chunkPuts(c, sent)).toEqual([`${wound.id}/0`, `${wound.id}/1`]);
    expect(Buffer.from((await c.fileOnServer(wound.id))!).equals(Buffer.from(bytes))).toBe(true);
    expect(reopened.files.status(wound.id)).toMatchObject({ state: 'synced' });
  });

  it('the app stopped before the photos were marked to go again: the mark the re-read left has them sent', async () => {
    const c = await clinic();
    await c.backup();
    const grace = await c.patients.create({ name: 'Grace' });
    const bytes = photo(2 * KiB, 4);
    const wound = await c.tablet.files.attach(new Blob([bytes]), {
      collection: 'patients',
      recordId: grace.id,
      name: 'wound.jpg',
    });
    expect((await c.sync()).files.uploaded).toBe(1);

    await c.restore();
    // The re-read ends, and the file store's write that would mark the photo never lands (the
    // tablet's storage full, or the app stopped between the two stores' writes).
    c.hooks.fileWritesFail = true;
    const cut = await syncMeetingRestore(c.tablet);
    expect(cut.success).toBe(false);
    expect(cut.error?.message).toMatch(/could not be written/);
    await c.tablet.close();

    c.hooks.fileWritesFail = false;
    const reopened = await c.openTablet();
    expect(reopened.files.status(wound.id)).toMatchObject({ state: 'synced' });
    const result = await reopened.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Grace's create, queued by the re-read, went first; then the photo, marked by this sync.
    expect(result.restored).toEqual({ resent: 0, files: 1 });
    expect(result.files.uploaded).toBe(1);
    expect((await c.onServer()).get(grace.id)).toEqual({ name: 'Grace' });
    expect(Buffer.from((await c.fileOnServer(wound.id))!).equals(Buffer.from(bytes))).toBe(true);
  });
});
