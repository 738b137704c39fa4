import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { auditResponseSchema } from '@outpost/core';
import type { AuditLogEvent } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { fetchJson } from '../server-json';

/** What each collection is called on screen. */
const kinds: Readonly<Record<string, string>> = {
  patients: 'patient',
  encounters: 'visit',
  clinicalNotes: 'clinical note',
  intakeForms: 'intake form',
  prescriptions: 'prescription',
};
const kindOf = (collection: string | null) =>
  collection === null ? 'record' : (kinds[collection] ?? collection);

/** Why the server refused a change, by its code, in a clinician's words. */
function refusalWords(code: string, collection: string | null): string {
  switch (code) {
    case 'IMMUTABLE':
      return collection === 'clinicalNotes' ? 'signed note' : `signed ${kindOf(collection)}`;
    case 'LOCKED':
      return `locked ${kindOf(collection)}`;
    case 'FORBIDDEN':
      return 'not allowed for this role';
    case 'VALIDATION_FAILED':
      return 'not valid';
    case 'NOT_FOUND':
      return 'the record does not exist';
    case 'UNKNOWN_COLLECTION':
      return 'unknown kind of record';
    case 'UNRESOLVED_REFERENCE':
      return 'it names a record that does not exist';
    case 'DEPENDENCY_FAILED':
      return 'a change it depended on was refused';
    default:
      return code;
  }
}

const strategyWords: Readonly<Record<string, string>> = {
  'client-wins': 'my change wins',
  'server-wins': 'the server’s version wins',
  'last-write-wins': 'the later change wins',
  merge: 'merge',
  manual: 'a person decides',
};

const conflictOutcomeWords: Readonly<Record<string, string>> = {
  'server-won': 'kept the server’s version',
  'client-won': 'applied the device’s change',
  merged: 'merged both',
  open: 'reopened',
  rejected: 'refused',
};

const sessionRefusals: Readonly<Record<string, string>> = {
  expired: 'expired',
  revoked: 'signed out',
  reused: 'used twice, session ended',
  'user-unknown': 'the person was removed',
  unknown: 'unknown session',
  malformed: 'unknown session',
};

const requestRefusals: Readonly<Record<string, string>> = {
  'missing-token': 'not signed in',
  'invalid-token': 'not a valid sign-in',
  'expired-token': 'sign-in expired',
  'ended-session': 'signed out on every device',
  'signed-out': 'session signed out',
  forbidden: 'not allowed',
  'not-found': 'not found',
};

const fileOutcomes: Readonly<Record<string, string>> = {
  complete: 'File received',
  'checksum-mismatch': 'File refused: damaged on the way',
};
const fileDeletions: Readonly<Record<string, string>> = {
  abandoned: 'Unfinished file deleted',
  deleted: 'File deleted',
  'orphan-deleted': 'File of a record never saved deleted',
  purged: 'File removed with its deleted record',
};

/** A clinic's setting changed, by the setting (the event's recordId) and what it was set to. */
const settingChanges: Readonly<Record<string, string>> = {
  'alert-thresholds:custom': 'Alert thresholds changed',
  'alert-thresholds:defaults': 'Alert thresholds back to the defaults',
};

/** What happened, in words: "Signed in", "Sign-in refused: wrong password", "Change refused: signed note". */
function eventWords(e: AuditLogEvent): string {
  const [status = '', detail = ''] = e.outcome.split(':');
  switch (e.action) {
    case 'login':
      return 'Signed in';
    case 'login-failed':
      return e.outcome === 'wrong-password'
        ? 'Sign-in refused: wrong password'
        : `Sign-in refused: ${e.outcome}`;
    case 'refresh':
      return e.outcome === 'repeated' ? 'Session renewed (answer sent again)' : 'Session renewed';
    case 'refresh-failed':
      return `Session renewal refused: ${sessionRefusals[e.outcome] ?? e.outcome}`;
    case 'logout':
      return 'Signed out';
    case 'sessions-ended':
      return e.recordId === e.userId
        ? `Signed out on every device (${status.replace(' ended', '')} sessions)`
        : `Ended every session of another person, on every device (${status.replace(' ended', '')})`;
    case 'push-op':
      if (status === 'applied') {
        if (detail === 'merged') return 'Change applied, merged with another';
        if (detail === 'client-won') return 'Change applied over another (override)';
        return 'Change applied';
      }
      if (status === 'conflict') {
        if (detail === 'open') return 'Change waiting for review: conflict';
        if (detail === 'server-won') return 'Change not applied: the server’s version won';
        return 'Change in conflict';
      }
      if (status === 'rejected') return `Change refused: ${refusalWords(detail, e.collection)}`;
      return `Change ${e.outcome}`;
    case 'override-ignored':
      return `Override not allowed: asked “${strategyWords[e.outcome] ?? e.outcome}”, settled by the usual rule`;
    case 'resolve':
      return `Conflict settled: ${conflictOutcomeWords[e.outcome] ?? e.outcome}`;
    case 'undo':
      return 'Conflict resolution undone';
    case 'refused':
      return `Request refused: ${requestRefusals[e.outcome] ?? e.outcome}`;
    case 'file-upload':
      return fileOutcomes[e.outcome] ?? `File upload: ${e.outcome}`;
    case 'file-delete':
      return fileDeletions[e.outcome] ?? `File deleted: ${e.outcome}`;
    case 'setting-changed':
      return settingChanges[`${e.recordId ?? ''}:${e.outcome}`] ?? `Setting ${e.recordId ?? ''} changed`;
    default:
      return `${e.action}: ${e.outcome}`;
  }
}

/** What the event was about: "New visit", "Edit of patient", a route refused. */
function subjectWords(e: AuditLogEvent): string {
  if (e.route !== null) return e.route;
  if (e.collection === null) return '';
  const kind = kindOf(e.collection);
  if (e.action !== 'push-op') return kind.charAt(0).toUpperCase() + kind.slice(1);
  if (e.opType === 'create') return `New ${kind}`;
  if (e.opType === 'delete') return `Deletion of ${kind}`;
  return `Edit of ${kind}`;
}

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
                  <td>{e.email ?? e.userId ?? 'the server'}</td>
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
