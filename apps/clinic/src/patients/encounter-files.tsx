import { useEffect, useRef, useState } from 'react';
import type { ChangeEvent } from 'react';
import type { FileError, LocalFile } from '@outpost/client';
import { useFiles, useSyncClient } from '@outpost/react';
import { FormError } from '../form-error';
import { useAction } from '../use-action';

/** How long an opened file's object URL lives: the new tab has long read it by then. */
const VIEW_URL_LIFETIME_MS = 60_000;

/**
 * Types a browser may show as a page of the app's origin without running anything: raster images
 * and PDF. Anything else (HTML, SVG...) opened from an object URL could run script in the app's
 * origin, so it is handed over as bytes to download instead.
 */
const shownAsIs = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/bmp',
  'image/avif',
  'application/pdf',
]);

/**
 * Photos and documents attached to an encounter: attached at once, offline too, and uploaded by the
 * syncs after it; and those a colleague attached on another tablet, as the server lists them
 * (`useFiles` asks when the encounter opens, after each sync, and when the live stream says a file
 * finished uploading or was deleted). Each shows where it stands; one
 * of this tablet's that was refused can be tried again. A colleague's is downloaded when viewed.
 * A file can be deleted from the clinic's server too (the wrong patient's photo), after a
 * confirmation, offline as well: the next sync deletes it, and a refusal stays shown with the file.
 */
export function EncounterFiles({ encounterId }: { encounterId: string }) {
  const client = useSyncClient();
  const files = useFiles({ collection: 'encounters', recordId: encounterId });
  const { error, run } = useAction();
  const attach = async (event: ChangeEvent<HTMLInputElement>) => {
    const input = event.currentTarget;
    const chosen = Array.from(input.files ?? []);
    // The same photo can be chosen again (taken again) after this one.
    input.value = '';
    await run(async () => {
      for (const file of chosen) {
        await client.files.attach(file, { collection: 'encounters', recordId: encounterId, name: file.name });
      }
    });
  };
  return (
    <div className="files">
      <h4>Photos and documents</h4>
      {files.length > 0 ? (
        <ul className="plain">
          {files.map((f) => (
            <AttachedFile key={f.id} file={f} />
          ))}
        </ul>
      ) : null}
      <label className="attach">
        Attach photo
        <input
          type="file"
          accept="image/*,application/pdf"
          capture="environment"
          onChange={(e) => void attach(e)}
        />
      </label>
      <FormError error={error} />
    </div>
  );
}

function AttachedFile({ file }: { file: LocalFile }) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const [confirming, setConfirming] = useState(false);
  const timers = useRef<Array<() => void>>([]);
  // Leaving the page frees what was opened from it, even before its minute is up.
  useEffect(() => () => timers.current.forEach((free) => free()), []);
  const view = () =>
    run(async () => {
      let blob: Blob;
      try {
        blob = await client.files.get(file.id);
      } catch (err) {
        throw new Error(unavailable(err));
      }
      const type = shownAsIs.has(blob.type) ? blob.type : 'application/octet-stream';
      const url = URL.createObjectURL(new Blob([blob], { type }));
      window.open(url, '_blank', 'noopener');
      const timer = setTimeout(() => URL.revokeObjectURL(url), VIEW_URL_LIFETIME_MS);
      timers.current.push(() => {
        clearTimeout(timer);
        URL.revokeObjectURL(url);
      });
    });
  // Sent at once when online; offline, the sync on reconnecting sends it.
  const tryAgain = () =>
    run(async () => {
      await client.files.retry([file.id]);
      if (client.network.status.online) void client.sync().catch(() => undefined);
    });
  // Deleted from the server by the next sync: at once when online, else on reconnecting.
  const remove = () =>
    run(async () => {
      setConfirming(false);
      await client.files.delete(file.id);
      if (client.network.status.online) void client.sync().catch(() => undefined);
    });
  const keep = () => run(() => client.files.keep(file.id));
  const deletion = file.deletion?.state;
  // Only this tablet's own upload can be tried again: a colleague's goes from their tablet.
  const failed =
    deletion === 'refused' || (deletion === undefined && file.origin === 'device' && file.state === 'failed');
  // A colleague's photo still arriving would only be sent again by their tablet.
  const deletable = deletion === undefined && !(file.origin === 'server' && file.state === 'incomplete');
  return (
    <li className="file">
      <span className="file-name">{file.name}</span>{' '}
      <span className={failed ? 'error' : 'muted'}>{stateText(file)}</span>{' '}
      {failed ? (
        <button type="button" onClick={() => void tryAgain()}>
          Try again
        </button>
      ) : null}{' '}
      {deletion !== undefined ? (
        <button type="button" onClick={() => void keep()} disabled={busy}>
          Keep it
        </button>
      ) : null}{' '}
      <button type="button" onClick={() => void view()} disabled={busy}>
        View
      </button>{' '}
      {deletable && !confirming ? (
        <button type="button" onClick={() => setConfirming(true)} disabled={busy}>
          Delete
        </button>
      ) : null}
      {confirming ? (
        <span className="confirm" role="group" aria-label={`Delete ${file.name}`}>
          Delete this file from the clinic&apos;s server too? It cannot be undone once sent.{' '}
          <button type="button" onClick={() => void remove()} disabled={busy}>
            Delete file
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </span>
      ) : null}
      <FormError error={error} />
    </li>
  );
}

/** Where a file stands, in plain words: its upload from this tablet, or where a colleague's is. */
export function stateText(file: LocalFile): string {
  if (file.deletion?.state === 'waiting') return 'To be deleted from the server at the next sync';
  if (file.deletion?.state === 'refused')
    return `Could not delete: ${deleteRefusalText(file.deletion.error)}`;
  if (file.origin === 'server') return colleagueFileText(file);
  switch (file.state) {
    case 'waiting':
      return 'Waiting to upload';
    case 'uploading':
      return `Uploading ${file.chunksUploaded} of ${file.chunkCount}`;
    case 'synced':
      return 'Uploaded';
    case 'failed':
      return `Could not upload: ${failureText(file.error)}`;
    case 'incomplete':
      // Never one attached here; worded as a colleague's for completeness.
      return colleagueFileText(file);
  }
}

/** A file attached on another tablet: still arriving on the server, there, or downloaded here. */
function colleagueFileText(file: LocalFile): string {
  if (file.state === 'incomplete') return 'Being uploaded from another tablet';
  return file.held ? 'Saved on this tablet' : 'On the server';
}

function failureText(error: FileError | undefined): string {
  switch (error?.code) {
    case 'FORBIDDEN':
      return 'your role may not attach files to this record';
    case 'PAYLOAD_TOO_LARGE':
      return 'the file is too large for the server';
    case 'CONFLICT':
      return 'the server holds a different file under the same name';
    case 'DEPENDENCY_FAILED':
      return 'the encounter itself was not saved on the server';
    case 'FILE_DAMAGED':
      return 'the copy on this tablet is damaged';
    case 'VALIDATION_FAILED':
      return 'the server found the file damaged on the way';
    case 'NETWORK':
    case 'INTERNAL':
    case 'RATE_LIMITED':
      return 'the server could not be reached after several tries';
    case 'UNAUTHORIZED':
      return 'your sign-in has expired';
    default:
      return error?.message ?? 'the server refused it';
  }
}

function deleteRefusalText(error: FileError | undefined): string {
  switch (error?.code) {
    case 'FORBIDDEN':
      return 'your role may not delete files of this record; ask an admin';
    case 'UNAUTHORIZED':
      return 'your sign-in has expired';
    default:
      return error?.message ?? 'the server refused it';
  }
}

function unavailable(err: unknown): string {
  const reason = (err as { reason?: unknown } | null)?.reason;
  switch (reason) {
    case 'offline':
      return 'This file is not on this tablet: connect to the network to open it.';
    case 'not-found':
      return 'The server does not have this file yet: it may not be uploaded from its tablet.';
    case 'incomplete':
      return 'This file is still being uploaded from its tablet: try again later.';
    case 'checksum':
    case 'damaged':
      return 'This file arrived damaged: try again.';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
