import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { auditResponseSchema } from '@outpost/core';
import type { AuditLogEvent } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { fetchJson } from '../server-json';
import { eventWords, personWords, subjectWords } from './audit-words';

/** The actions the filter offers, as the server's `action` parameter takes them. */
const actionChoices: ReadonlyArray<{ label: string; actions: string }> = [
  { label: 'Everything', actions: '' },
  {
    label: 'Sign-ins and sign-outs',
    actions: 'login,login-failed,refresh,refresh-failed,logout,sessions-ended',
  },
  { label: 'Changes sent', actions: 'push-op' },
  { label: 'Overrides not allowed', actions: 'override-ignored' },
  { label: 'Conflict resolutions', actions: 'resolve,undo' },
  { label: 'Refused requests', actions: 'refused' },
  { label: 'Files', actions: 'file-upload,file-delete' },
  { label: 'Settings', actions: 'setting-changed' },
];

interface Filters {
  person: string;
  device: string;
  actions: string;
  /** YYYY-MM-DD, the day's start on this tablet's clock; '' for none. */
  from: string;
  /** YYYY-MM-DD, inclusive: up to the next day's start. */
  to: string;
}
const noFilters: Filters = { person: '', device: '', actions: '', from: '', to: '' };

/** The query of a page: the filters as the server reads them, and where the last page ended. */
function queryOf(filters: Filters, cursor: string | null): string {
  const params = new URLSearchParams();
  const person = filters.person.trim();
  // An email has an @; anything else is taken for a user id.
  if (person !== '') params.set(person.includes('@') ? 'email' : 'userId', person);
  if (filters.device.trim() !== '') params.set('deviceId', filters.device.trim());
  if (filters.actions !== '') params.set('action', filters.actions);
  if (filters.from !== '') params.set('from', new Date(`${filters.from}T00:00`).toISOString());
  if (filters.to !== '') {
    const next = new Date(`${filters.to}T00:00`);
    next.setDate(next.getDate() + 1);
    params.set('to', next.toISOString());
  }
  if (cursor !== null) params.set('cursor', cursor);
  return params.toString();
}

interface Listing {
  events: AuditLogEvent[];
  nextCursor: string | null;
}

/**
 * The clinic's audit trail, from the server, for administrators: who signed in, which changes each
 * device sent and what came of them, refusals; newest first, a page at a time. Names no patient:
 * the server's trail holds no record contents.
 */
export function AuditPage({ tokens }: { tokens: TokenSession }) {
  const { isOnline } = useNetworkStatus();
  const [draft, setDraft] = useState<Filters>(noFilters);
  const [filters, setFilters] = useState<Filters>(noFilters);
  const [listing, setListing] = useState<Listing | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** Counts the listings asked for: the answer of one a newer one replaced is dropped. */
  const asked = useRef(0);

  const load = async (cursor: string | null) => {
    const mine = cursor === null ? ++asked.current : asked.current;
    setLoading(true);
    try {
      const page = await fetchJson(`/v1/audit?${queryOf(filters, cursor)}`, tokens, (b) =>
        auditResponseSchema.parse(b),
      );
      if (mine !== asked.current) return;
      setListing((shown) => ({
        events: cursor === null || shown === null ? page.events : [...shown.events, ...page.events],
        nextCursor: page.nextCursor,
      }));
      setError(null);
    } catch (err) {
      if (mine === asked.current) setError(err instanceof Error ? err.message : String(err));
    } finally {
      if (mine === asked.current) setLoading(false);
    }
  };

  useEffect(() => {
    if (isOnline) void load(null);
    // The first page again when the filters change, and when the network comes back.
  }, [isOnline, tokens, filters]);

  const show = (event: FormEvent) => {
    event.preventDefault();
    setFilters({ ...draft });
  };
  const field = (name: keyof Filters) => ({
    name,
    value: draft[name],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [name]: e.target.value })),
  });

  return (
    <section aria-labelledby="audit-heading">
      <h1 id="audit-heading">Audit log</h1>
      <p className="muted">
        What happened on the server, newest first: sign-ins, the changes each device sent and what came of
        them, refused requests. It names people, devices and records, never what a record says.
      </p>
      <form aria-label="Audit filters" onSubmit={show}>
        <div className="fields">
          <label>
            Person (email or user id)
            <input {...field('person')} maxLength={320} />
          </label>
          <label>
            Device
            <input {...field('device')} maxLength={128} />
          </label>
          <label>
            What
            <select {...field('actions')}>
              {actionChoices.map((c) => (
                <option key={c.label} value={c.actions}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            From
            <input {...field('from')} type="date" />
          </label>
          <label>
            To
            <input {...field('to')} type="date" />
          </label>
        </div>
        <div className="buttons">
          <button type="submit" disabled={!isOnline}>
            Show
          </button>
          <button
            type="button"
            disabled={!isOnline}
            onClick={() => {
              setDraft(noFilters);
              setFilters(noFilters);
            }}
          >
            Clear filters
          </button>
        </div>
      </form>
      {!isOnline && listing === null ? (
        <p role="status">The audit log comes from the server: connect to see it.</p>
      ) : null}
      {error !== null ? (
        <p role="alert" className="error">
          Could not fetch the audit log: {error}
        </p>
      ) : null}
      {listing !== null ? (
        <>
          <table className="grid" aria-label="Audit events">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Person</th>
                <th scope="col">Device</th>
                <th scope="col">What happened</th>
                <th scope="col">About</th>
              </tr>
            </thead>
            <tbody>
              {listing.events.map((e) => (
                <tr key={e.opId !== undefined ? `op:${e.opId}` : `event:${e.seq}`}>
                  <td>
                    <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time>
                  </td>
                  <td>{personWords(e)}</td>
                  <td>{e.deviceId ?? ''}</td>
                  <td>{eventWords(e)}</td>
                  <td>
                    {subjectWords(e)}
                    {e.recordId !== null ? (
                      <>
                        {' '}
                        <code className="muted">{e.recordId}</code>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {listing.events.length === 0 ? <p>Nothing recorded matches these filters.</p> : null}
          {listing.nextCursor !== null ? (
            <button
              type="button"
              disabled={loading || !isOnline}
              onClick={() => void load(listing.nextCursor)}
            >
              Load more
            </button>
          ) : null}
        </>
      ) : null}
      {loading ? <p role="status">Fetching the audit log…</p> : null}
    </section>
  );
}
