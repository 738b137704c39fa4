import { useCallback, useState } from 'react';
import type { FormEvent } from 'react';
import type { ClientRecord } from '@outpost/client';
import { useCollection, useSyncClient } from '@outpost/react';
import { isSigned } from '../records';
import type { ClinicalNote } from '../records';
import type { Session } from '../session';
import { useAction } from '../use-action';
import { useDraft } from '../use-draft';
import type { Draft } from '../use-draft';
import { useUnsavedFormTyping, useUnsavedTyping } from '../unsaved-typing';
import { ClosedWhileTyping } from '../closed-while-typing';
import { ChangedMeanwhile } from '../changed-meanwhile';
import { signatureHash } from './signature';
import { FormError } from '../form-error';
import { FormFooter } from '../form-footer';
import { SyncBadge } from '../sync-badge';
import { utcMinute } from '../sync-time';

/**
 * An encounter's clinical notes. A draft can be edited and signed; a signed note is a legal record
 * and is shown read-only: the app offers no control that could change it, and the client and
 * server refuse such a change anyway.
 */
export function ClinicalNotes({ encounterId, session }: { encounterId: string; session: Session }) {
  const [writing, setWriting] = useState(false);
  const ofEncounter = useCallback(
    (n: ClientRecord<ClinicalNote>) => n.data.encounterId === encounterId,
    [encounterId],
  );
  const notes = useCollection<ClinicalNote>('clinicalNotes', { where: ofEncounter, orderBy: 'signedAt' });
  return (
    <div className="notes">
      <h4>Clinical notes</h4>
      {notes.map((n) => (
        <Note key={n.id} note={n} session={session} />
      ))}
      {writing ? (
        <NewNoteForm encounterId={encounterId} onDone={() => setWriting(false)} session={session} />
      ) : (
        <button type="button" onClick={() => setWriting(true)}>
          New note
        </button>
      )}
    </div>
  );
}

function SignedNote({ note }: { note: ClientRecord<ClinicalNote> }) {
  return (
    <figure className="note signed" aria-label="Signed note">
      <blockquote>{note.data.body}</blockquote>
      <figcaption>
        <span className="badge signed-badge">Signed</span>{' '}
        {note.data.signedAt !== undefined && utcMinute(note.data.signedAt)} · read-only{' '}
        <SyncBadge record={note} />
      </figcaption>
    </figure>
  );
}

/**
 * One note, draft or signed. The draft's text lives here, not in the draft's form, so it outlives
 * the note being signed on another device while the person types: then the signed note shows,
 * and below it what they typed, unsaved, until they keep it as a new draft note or discard it.
 */
function Note({ note, session }: { note: ClientRecord<ClinicalNote>; session: Session }) {
  const draft = useDraft({ body: note.data.body });
  const typed = draft.values.body.trim();
  // Saved text is trimmed: what differs beyond spaces was not saved.
  const unsaved = typed !== draft.base.body.trim();
  const [settled, setSettled] = useState(false);
  const signed = isSigned(note.data);
  const lost = signed && unsaved && typed !== '' && !settled;
  useUnsavedTyping(signed ? lost : unsaved);
  if (!signed) return <DraftNote note={note} draft={draft} session={session} />;
  return (
    <>
      <SignedNote note={note} />
      {lost ? (
        <LostNoteText
          encounterId={note.data.encounterId}
          text={typed}
          session={session}
          onSettled={() => setSettled(true)}
        />
      ) : null}
    </>
  );
}

/** Text typed into a draft that was signed elsewhere meanwhile: kept as a new draft, or discarded. */
function LostNoteText({
  encounterId,
  text,
  session,
  onSettled,
}: {
  encounterId: string;
  text: string;
  session: Session;
  onSettled: () => void;
}) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const keep = async () => {
    const kept = await run(() =>
      client
        .collection<ClinicalNote>('clinicalNotes')
        .create({ encounterId, body: text, authorId: session.userId }),
    );
    if (kept) onSettled();
  };
  return (
    <ClosedWhileTyping what="This note was signed" typed={[{ label: 'What you typed', text }]}>
      <FormError error={error} />
      <button type="button" disabled={busy} onClick={() => void keep()}>
        Keep as a new draft note
      </button>
      <button type="button" disabled={busy} onClick={onSettled}>
        Discard
      </button>
    </ClosedWhileTyping>
  );
}

function DraftNote({
  note,
  draft,
  session,
}: {
  note: ClientRecord<ClinicalNote>;
  draft: Draft<'body'>;
  session: Session;
}) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const notes = client.collection<ClinicalNote>('clinicalNotes');
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const body = String(new FormData(event.currentTarget).get('body') ?? '').trim();
    await run(async () => {
      const patch: Partial<ClinicalNote> = body !== note.data.body ? { body } : {};
      if (submitter?.value === 'sign') {
        // The last edit and the signature travel as one change: the server never holds a signed
        // note whose body differs from what was signed.
        const signedAt = new Date().toISOString();
        Object.assign(patch, {
          authorId: session.userId,
          signedAt,
          signatureHash: await signatureHash(body, session.userId, signedAt),
        });
      }
      if (Object.keys(patch).length > 0) await notes.update(note.id, patch);
    });
  };
  return (
    <form className="note draft" aria-label="Draft note" onSubmit={(e) => void submit(e)}>
      <label>
        Draft note
        <textarea
          name="body"
          rows={3}
          required
          value={draft.values.body}
          onChange={(e) => draft.set('body', e.target.value)}
        />
      </label>
      <ChangedMeanwhile
        changes={draft.changedMeanwhile.map(() => ({ label: 'the note', now: draft.base.body }))}
      />
      <FormError error={error} />
      <div className="buttons">
        <span className="badge">Draft</span> <SyncBadge record={note} />
        <button type="submit" name="action" value="save" disabled={busy}>
          Save draft
        </button>
        <button type="submit" name="action" value="sign" disabled={busy}>
          Sign note
        </button>
      </div>
    </form>
  );
}

function NewNoteForm({
  encounterId,
  onDone,
  session,
}: {
  encounterId: string;
  onDone: () => void;
  session: Session;
}) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const onInput = useUnsavedFormTyping();
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const body = String(new FormData(event.currentTarget).get('body') ?? '').trim();
    const created = await run(() =>
      client
        .collection<ClinicalNote>('clinicalNotes')
        .create({ encounterId, body, authorId: session.userId }),
    );
    if (created) onDone();
  };
  return (
    <form aria-label="New note" onSubmit={(e) => void submit(e)} onInput={onInput}>
      <label>
        Clinical note
        <textarea name="body" rows={3} required />
      </label>
      <FormFooter error={error} busy={busy} save="Save draft" onCancel={onDone} />
    </form>
  );
}
