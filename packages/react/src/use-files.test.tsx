// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalFile } from '@outpost/client';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { scriptedServer } from '../test/scripted-server';
import { useFiles } from './index';

afterEach(cleanup);

const KiB = 1024;

function FileList({ recordId, seen }: { recordId: string; seen?: Array<readonly LocalFile[]> }) {
  const files = useFiles({ collection: 'patients', recordId });
  seen?.push(files);
  return (
    <ul>
      {files.map((f) => (
        <li key={f.id}>
          {f.name}: {f.state}, {f.chunksUploaded} of {f.chunkCount}
          {f.error ? `, ${f.error.code}` : ''}
          {f.refused ? ', refused' : ''};
        </li>
      ))}
    </ul>
  );
}

/**
 * A fetch answering the files routes as the server does, holding the answer to chunk `holdChunk`
 * until `release()`; declarations of files named in `refuse` are answered 403.
 */
function fileRoutes(options: { holdChunk?: number; refuse?: string[] } = {}) {
  const declared = new Map<string, { chunkCount: number; received: Set<number> }>();
  let release: () => void = () => undefined;
  let held: Promise<void> | null = null;
  let reachedHold = false;
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(String(input));
    const [, id, , index] = /^\/v1\/files\/([^/]+)(\/chunks\/(\d+))?$/.exec(url.pathname) ?? [];
    if (!id || init?.method !== 'PUT') throw new TypeError('Failed to fetch');
    if (index === undefined) {
      const d = JSON.parse(String(init.body)) as Record<string, unknown> & {
        size: number;
        chunkSize: number;
      };
      if (options.refuse?.includes(String(d['name'])))
        return json({ error: { code: 'FORBIDDEN', message: 'not allowed to attach files here' } }, 403);
      const chunkCount = Math.ceil(d.size / d.chunkSize);
      const file = declared.get(id) ?? { chunkCount, received: new Set<number>() };
      declared.set(id, file);
      const missingChunks = [...Array(chunkCount).keys()].filter((i) => !file.received.has(i));
      return json({
        ...d,
        id,
        chunkCount,
        missingChunks,
        complete: missingChunks.length === 0,
        createdBy: 'nurse',
        createdAt: new Date().toISOString(),
        completedAt: null,
      });
    }
    const file = declared.get(id)!;
    if (Number(index) === options.holdChunk) {
      reachedHold = true;
      held ??= new Promise<void>((resolve) => (release = resolve));
      await held;
    }
    file.received.add(Number(index));
    return json({
      received: file.received.size,
      chunkCount: file.chunkCount,
      complete: file.received.size === file.chunkCount,
    });
  };
  return {
    fetch,
    release: () => release(),
    get reachedHold() {
      return reachedHold;
    },
  };
}

describe('useFiles', () => {
  it("lists one record's files as attached offline, oldest first, and keeps the array while they do not change", async () => {
    const client = await openClient({ fileChunkBytes: KiB });
    const patients = client.collection('patients');
    const amina = await patients.create({ name: 'Amina K.' });
    const grace = await patients.create({ name: 'Grace M.' });
    const seen: Array<readonly LocalFile[]> = [];
    const view = await render(client, <FileList recordId={amina.id} seen={seen} />);
    expect(view.text()).toBe('');

    const attach = (name: string, size: number, recordId = amina.id) =>
      acting(() => client.files.attach(new Uint8Array(size), { collection: 'patients', recordId, name }));
    await attach('wound.png', 2 * KiB + 10);
    expect(view.text()).toBe('wound.png: waiting, 0 of 3;');
    await attach('consent.pdf', 500);
    expect(view.text()).toBe('wound.png: waiting, 0 of 3;consent.pdf: waiting, 0 of 1;');

    // Another patient's file changes the device's files, not Amina's: the same array, no new render.
    const before = seen.at(-1);
    const renders = seen.length;
    await attach('rash.png', 100, grace.id);
    expect(seen.at(-1)).toBe(before);
    expect(seen.length).toBe(renders);
    expect(view.text()).toBe('wound.png: waiting, 0 of 3;consent.pdf: waiting, 0 of 1;');

    const [wound] = client.files.list({ collection: 'patients', recordId: amina.id });
    await acting(() => client.files.discard(wound!.id));
    expect(view.text()).toBe('consent.pdf: waiting, 0 of 1;');
  });

  it('follows an upload chunk by chunk to synced, and shows a refusal until it is retried', async () => {
    const routes = fileRoutes({ holdChunk: 1, refuse: ['other-clinic.pdf'] });
    const client = await openClient({
      transport: scriptedServer().transport,
      fetch: routes.fetch,
      fileChunkBytes: KiB,
    });
    const amina = await client.collection('patients').create({ name: 'Amina K.' });
    const view = await render(client, <FileList recordId={amina.id} />);
    const wound = await acting(() =>
      client.files.attach(new Uint8Array(2 * KiB + 10), {
        collection: 'patients',
        recordId: amina.id,
        name: 'wound.png',
      }),
    );
    await acting(() =>
      client.files.attach(new Uint8Array(10), {
        collection: 'patients',
        recordId: amina.id,
        name: 'other-clinic.pdf',
      }),
    );

    // The second chunk's answer waits: the upload is caught with one chunk of three on the server.
    const syncing = client.sync();
    await acting(async () => {
      while (!routes.reachedHold) await new Promise((resolve) => setTimeout(resolve, 1));
    });
    expect(view.text()).toContain('wound.png: uploading, 1 of 3;');
    routes.release();
    await acting(() => syncing);
    expect(view.text()).toBe(
      'wound.png: synced, 3 of 3;other-clinic.pdf: failed, 0 of 1, FORBIDDEN, refused;',
    );
    expect(client.files.status(wound.id)?.state).toBe('synced');

    const refused = client.files.list({ collection: 'patients', recordId: amina.id })[1]!;
    expect(await acting(() => client.files.retry([refused.id]))).toBe(1);
    expect(view.text()).toBe('wound.png: synced, 3 of 3;other-clinic.pdf: waiting, 0 of 1;');
  });
});
