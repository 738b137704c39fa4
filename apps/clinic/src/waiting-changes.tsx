import { useEffect, useMemo, useState } from 'react';
import { isWithdrawable, stillToGo } from '@outpost/client';
import type { LocalFile, OutboxEntry, SyncClient } from '@outpost/client';
import { useSyncClient, useSyncQueue } from '@outpost/react';
import { waitingText } from './sync-time';
import { typedText } from './typed-text';
import { useNow } from './use-now';

/** What each collection is called on screen. */
const kinds: Readonly<Record<string, string>> = {
  patients: 'patient',
  encounters: 'visit',
  clinicalNotes: 'clinical note',
  intakeForms: 'intake form',
  prescriptions: 'prescription',
};

/** A few words naming the record a change is about: a patient's name, a visit's diagnosis... */
function recordLabel(collection: string, data: Readonly<Record<string, unknown>> | undefined): string {
  const field = { patients: 'name', encounters: 'diagnosis', prescriptions: 'drug', clinicalNotes: 'body' }[
    collection
  ];
  const value = field === undefined ? undefined : data?.[field];
  if (typeof value !== 'string' || value === '') return '';
  return value.length > 60 ? `${value.slice(0, 57)}…` : value;
}

function describeChange(op: OutboxEntry, label: string): string {
  const kind = kinds[op.collection] ?? op.collection;
  const what =
    op.type === 'create' ? `New ${kind}` : op.type === 'update' ? `Edit of ${kind}` : `Deletion of ${kind}`;
  return label === '' ? what : `${what}: ${label}`;
}

/** The photos a withdrawal takes, counted and named: "1 photo (wound.png)". */
function photosText(files: readonly LocalFile[]): string {
  const count = files.length === 1 ? '1 photo' : `${files.length} photos`;
  return `${count} (${files.map((f) => f.name).join(', ')})`;
}

function standing(op: OutboxEntry): string {
  if (op.status === 'in-flight') return 'Being sent now';
  if (op.status === 'failed') return 'Stopped after repeated failures: "Sync now" sends it again';
  if (!isWithdrawable(op)) return 'Sent, no answer yet: it may already be on the server';
  return op.heldReason === undefined ? 'Waiting to be sent' : `Held back: ${op.heldReason}`;
}

/** The labels of the records the changes are about, read from the tablet (one lookup each). */
function useLabels(client: SyncClient, ops: readonly OutboxEntry[]): ReadonlyMap<number, string> {
  const [labels, setLabels] = useState<ReadonlyMap<number, string>>(new Map());
  useEffect(() => {
    let current = true;
    void Promise.all(
      ops.map(async (op): Promise<[number, string]> => {
        // A record gone (a deletion waiting) is named by what the change itself carries.
        let data = op.data;
        try {
          data = (await client.collection(op.collection).get(op.id))?.data ?? data;
        } catch {
          // A collection this app does not know: the change is named without its record.
        }
        return [op.seq, recordLabel(op.collection, data)];
      }),
    ).then((pairs) => {
      if (current) setLabels(new Map(pairs));
    });
    return () => {
      current = false;
    };
  }, [client, ops]);
  return labels;
}

/**
 * The changes made on this tablet that the server does not have yet, in the order they were made.
 * One that has not been sent can be withdrawn, after a plain-words confirmation: it is never sent,
 * and its record shows again as it was without it (a record created here goes, with the photos
 * attached to it). Changes made on top of it go with it, and the confirmation names them and the
 * photos. A change being sent, or sent once without an answer, offers nothing: it may already be
 * on the server.
 */
export function WaitingChanges() {
  const client = useSyncClient();
  const { operations, stats, withdraw } = useSyncQueue();
  const waiting = useMemo(() => operations.filter(stillToGo), [operations]);
  const now = useNow();
  const labels = useLabels(client, waiting);
  const [outcome, setOutcome] = useState<{ error: string | null; done: string | null }>({
    error: null,
    done: null,
  });

  const ask = async (op: OutboxEntry) => {
    const plan = client.queue.planWithdrawal([op.seq]);
    if (plan.blocked.length > 0) {
      setOutcome({ error: 'This change is being sent or may already be on the server.', done: null });
      return;
    }
    const others = plan.dependents.map((d) => describeChange(d, labels.get(d.seq) ?? ''));
    // Photos attached to a record that goes (created on this tablet, never on the server) go with it.
    const photos = plan.files;
    const question =
      `Withdraw this change${photos.length === 0 ? '' : ` and ${photosText(photos)}`}? ` +
      'It will not be sent, and what you typed is removed from this tablet.' +
      (others.length === 0
        ? ''
        : ` ${others.length === 1 ? 'This change was' : `These ${others.length} changes were`} made on top of it ` +
          `and will be withdrawn with it: ${others.join('; ')}.`) +
      (photos.length === 0
        ? ''
        : ` ${photos.length === 1 ? 'The photo belongs' : 'The photos belong'} to a record that goes with ` +
          `the change: removed from this tablet too, and not uploaded.`);
    if (!window.confirm(question)) return;
    try {
      const count = await withdraw(plan.ops.map((o) => o.seq));
      const changes = count === 1 ? 'The change' : `${count} changes`;
      setOutcome({
        error: null,
        done:
          photos.length === 0
            ? `${changes} ${count === 1 ? 'was' : 'were'} withdrawn.`
            : `${changes} and ${photos.length === 1 ? '1 photo' : `${photos.length} photos`} were withdrawn.`,
      });
    } catch (err) {
      setOutcome({ error: err instanceof Error ? err.message : String(err), done: null });
    }
  };

  return (
    <section aria-labelledby="waiting-changes-heading">
      <h2 id="waiting-changes-heading">Changes waiting to be sent</h2>
      <p className="muted">
        Changes made on this tablet that the server does not have yet, in the order they were made.
        &ldquo;Withdraw&rdquo; takes back a change that has not been sent (entered for the wrong patient, a
        visit saved twice): the record shows again as it was without it.
      </p>
      {outcome.error !== null ? (
        <p role="alert" className="error">
          Could not withdraw the change: {outcome.error}
        </p>
      ) : null}
      {outcome.done !== null ? <p role="status">{outcome.done}</p> : null}
      {waiting.length === 0 ? (
        <p>Nothing on this tablet waits to be sent.</p>
      ) : (
        <>
          {/* How old the unsent work is: the longer it waits, the more a lost tablet would lose. */}
          <p>{waitingText(waiting.length, stats.oldestPendingAt, now)}.</p>
          <table aria-label="Changes waiting to be sent">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Change</th>
                <th scope="col">What was typed</th>
                <th scope="col">State</th>
                <th scope="col">Take back</th>
              </tr>
            </thead>
            <tbody>
              {waiting.map((op) => (
                <tr key={op.seq}>
                  <td>{new Date(op.createdAt).toLocaleString()}</td>
                  <td>{describeChange(op, labels.get(op.seq) ?? '')}</td>
                  <td>{typedText(op.data)}</td>
                  <td>{standing(op)}</td>
                  <td>
                    {isWithdrawable(op) ? (
                      <button type="button" onClick={() => void ask(op)}>
                        Withdraw
                      </button>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
