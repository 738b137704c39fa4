import { useEffect, useMemo, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { auditResponseSchema, deviceNameKey } from '@outpost/core';
import type { AuditLogEvent, AuditResponse } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus, useRecord } from '@outpost/react';
import type { Patient } from '../records';
import { today } from '../records';
import { navigate, useQuery } from '../router';
import { fetchJson } from '../server-json';
import { auditCsv, auditCsvCap, auditCsvFileName, collectAuditEvents } from './audit-csv';
import { eventWords, kindOf, kinds, personWords, subjectWords } from './audit-words';
import { DeviceLabel, useDeviceNames } from '../device-names';

/**
 * The actions the filter offers, as the server's `action` parameter takes them, and as the page's
 * address names them (`what`).
 */
const actionChoices: ReadonlyArray<{ label: string; key: string; actions: string }> = [
  { label: 'Everything', key: '', actions: '' },
  {
    label: 'Sign-ins and sign-outs',
    key: 'sign-ins',
    actions: 'login,login-failed,refresh,refresh-failed,logout,sessions-ended',
  },
  { label: 'Changes sent', key: 'changes', actions: 'push-op' },
  { label: 'Overrides not allowed', key: 'overrides', actions: 'override-ignored' },
  { label: 'Conflict resolutions', key: 'resolutions', actions: 'resolve,undo' },
  { label: 'Refused requests', key: 'refused', actions: 'refused' },
  { label: 'Files', key: 'files', actions: 'file-upload,file-delete' },
  { label: 'Settings', key: 'settings', actions: 'setting-changed' },
  { label: 'People added or changed', key: 'people', actions: 'user-created,user-changed' },
  { label: 'Devices named or taken out of use', key: 'devices', actions: 'device-named,device-use' },
];

interface Filters {
  person: string;
  device: string;
  /** An `actionChoices` key; '' for everything. */
  what: string;
  /** YYYY-MM-DD, the day's start on this tablet's clock; '' for none. */
  from: string;
  /** YYYY-MM-DD, inclusive: up to the next day's start. */
  to: string;
  /** The kind of record, as the server names its collection (`patients`); '' for any. */
  collection: string;
  /** One record's id; '' for any. */
  record: string;
  /** 'yes': with `record`, the records that name it too (a patient's visits, notes and forms). */
  related: string;
}
const noFilters: Filters = {
  person: '',
  device: '',
  what: '',
  from: '',
  to: '',
  collection: '',
  record: '',
  related: '',
};

/** The address's name of each filter: `/audit?collection=patients&record=…` opens one record's history. */
const addressNames: Readonly<Record<keyof Filters, string>> = {
  person: 'person',
  device: 'device',
  what: 'what',
  from: 'from',
  to: 'to',
  collection: 'collection',
  record: 'record',
  related: 'related',
};

/** Whether `text` is a day that exists, YYYY-MM-DD (a date field's value): 2026-02-30 is none. */
function isDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const [y, m, d] = text.split('-').map(Number);
  const day = new Date(`${text}T00:00`);
  return day.getFullYear() === y && day.getMonth() + 1 === m && day.getDate() === d;
}

/** The filters an address carries; what cannot be a filter (a misspelt choice, a day that is none) is left out. */
function filtersOf(query: string): Filters {
  const params = new URLSearchParams(query);
  const read = (name: keyof Filters) => (params.get(addressNames[name]) ?? '').trim();
  const what = read('what');
  return {
    person: read('person'),
    device: read('device'),
    what: actionChoices.some((c) => c.key === what) ? what : '',
    from: isDay(read('from')) ? read('from') : '',
    to: isDay(read('to')) ? read('to') : '',
    collection: read('collection'),
    record: read('record'),
    related: read('related') === 'yes' ? 'yes' : '',
  };
}

/** Whether the filters ask for a record's history with the records that name it. */
const withRelated = (filters: Filters) =>
  filters.related === 'yes' && filters.collection !== '' && filters.record !== '';

/** The page's address for `filters`: `/audit` with the filters set, so a reload or a link shows the same. */
function addressOf(filters: Filters): string {
  const params = new URLSearchParams();
  for (const name of Object.keys(addressNames) as Array<keyof Filters>) {
    const value = filters[name].trim();
    if (value !== '') params.set(addressNames[name], value);
  }
  const query = params.toString();
  return query === '' ? '/audit' : `/audit?${query}`;
}

/** The device a filter names: the id of the device named so (in any case), else the text as an id. */
function deviceIdOf(typed: string, names: ReadonlyMap<string, string>): string {
  const key = deviceNameKey(typed);
  for (const [id, name] of names) if (deviceNameKey(name) === key) return id;
  return typed;
}

/**
 * The query of a page: the filters as the server reads them, where the last page ended, how many.
 * `names`: the devices' names, so that the device filter takes a name as well as an id.
 */
function queryOf(
  filters: Filters,
  cursor: string | null,
  names: ReadonlyMap<string, string>,
  limit?: number,
): string {
  const params = new URLSearchParams();
  // An email has an @; anything else is taken for a user id.
  if (filters.person !== '') params.set(filters.person.includes('@') ? 'email' : 'userId', filters.person);
  if (filters.device !== '') params.set('deviceId', deviceIdOf(filters.device, names));
  const actions = actionChoices.find((c) => c.key === filters.what)?.actions ?? '';
  if (actions !== '') params.set('action', actions);
  if (filters.from !== '') params.set('from', new Date(`${filters.from}T00:00`).toISOString());
  if (filters.to !== '') {
    const next = new Date(`${filters.to}T00:00`);
    next.setDate(next.getDate() + 1);
    params.set('to', next.toISOString());
  }
  if (filters.collection !== '') params.set('collection', filters.collection);
  if (filters.record !== '') params.set('recordId', filters.record);
  if (withRelated(filters)) params.set('related', 'true');
  if (cursor !== null) params.set('cursor', cursor);
  if (limit !== undefined) params.set('limit', String(limit));
  return params.toString();
}

interface Listing {
  events: AuditLogEvent[];
  nextCursor: string | null;
  /** With `related`: how many records the history covers, and whether there were more. */
  related: AuditResponse['related'];
}

/** Where "Save as CSV" stands. */
type Saving =
  | { state: 'idle' }
  | { state: 'fetching'; fetched: number }
  | { state: 'saved'; count: number; capped: boolean; file: string }
  | { state: 'failed'; message: string };

/** Hands `text` to the browser as a file named `name` to save. */
function download(name: string, text: string): void {
  // A byte-order mark first: a spreadsheet then reads the file as UTF-8 (the words' ’ and “”).
  const blob = new Blob(['\uFEFF', text], { type: 'text/csv;charset=utf-8' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  // The browser has the file once the click is handled; the address is not needed after.
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

const count = (n: number) => `${n.toLocaleString()} ${n === 1 ? 'event' : 'events'}`;

/**
 * The clinic's audit trail, from the server, for administrators: who signed in, which changes each
 * device sent and what came of them, refusals; newest first, a page at a time. The filters applied
 * are the page's address, so a link (a patient's page: one record's history) or a reload shows the
 * same. Names no patient from the log: the server's trail holds no record contents; a record's
 * history is named from what this device holds.
 */
export function AuditPage({ tokens, clinic }: { tokens: TokenSession; clinic: string }) {
  const { isOnline } = useNetworkStatus();
  const { names } = useDeviceNames();
  const query = useQuery();
  const filters = useMemo(() => filtersOf(query), [query]);
  const [draft, setDraft] = useState<Filters>(filters);
  /** Counts "Show" pressed: the first page again, even with the filters unchanged. */
  const [asks, setAsks] = useState(0);
  const [listing, setListing] = useState<Listing | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState<Saving>({ state: 'idle' });
  /** Counts the listings asked for: the answer of one a newer one replaced is dropped. */
  const asked = useRef(0);

  // Back, forward or a link changed the filters: the form shows those applied.
  useEffect(() => setDraft(filters), [filters]);

  const load = async (cursor: string | null) => {
    const mine = cursor === null ? ++asked.current : asked.current;
    setLoading(true);
    try {
      const page = await fetchJson(`/v1/audit?${queryOf(filters, cursor, names)}`, tokens, (b) =>
        auditResponseSchema.parse(b),
      );
      if (mine !== asked.current) return;
      setListing((shown) => ({
        events: cursor === null || shown === null ? page.events : [...shown.events, ...page.events],
        nextCursor: page.nextCursor,
        related: page.related,
      }));
      setError(null);
    } catch (err) {
      if (mine === asked.current) setError(err instanceof Error ? err.message : String(err));
    } finally {
      if (mine === asked.current) setLoading(false);
    }
  };

  // A device filter that is a name reads as its device once the names are read.
  const filterNames = filters.device === '' ? null : names;
  useEffect(() => {
    if (isOnline) void load(null);
    // The first page again when the filters change, "Show" is pressed, and the network comes back.
  }, [isOnline, tokens, filters, asks, filterNames]);

  const apply = (next: Filters) => {
    setDraft(next);
    navigate(addressOf(next));
    setAsks((n) => n + 1);
  };
  const show = (event: FormEvent) => {
    event.preventDefault();
    apply(draft);
  };
  const field = (name: keyof Filters) => ({
    name,
    value: draft[name],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [name]: e.target.value })),
  });

  const saveCsv = async () => {
    const chosen = filters;
    setSaving({ state: 'fetching', fetched: 0 });
    try {
      const { events, capped } = await collectAuditEvents(
        (cursor, limit) =>
          fetchJson(`/v1/audit?${queryOf(chosen, cursor, names, limit)}`, tokens, (b) =>
            auditResponseSchema.parse(b),
          ),
        auditCsvCap,
        (fetched) => setSaving({ state: 'fetching', fetched }),
      );
      const file = auditCsvFileName(clinic, today());
      download(file, auditCsv(events, names));
      setSaving({ state: 'saved', count: events.length, capped, file });
    } catch (err) {
      setSaving({ state: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  };

  const unknownKind = filters.collection !== '' && !Object.hasOwn(kinds, filters.collection);
  return (
    <section aria-labelledby="audit-heading">
      <h1 id="audit-heading">Audit log</h1>
      <p className="muted">
        What happened on the server, newest first: sign-ins, the changes each device sent and what came of
        them, refused requests. It names people, devices and records, never what a record says.
      </p>
      {filters.collection !== '' || filters.record !== '' ? (
        <p className="record-filter">
          <RecordWords collection={filters.collection} id={filters.record} />{' '}
          {withRelated(filters) ? <RelatedWords related={listing?.related} /> : null}{' '}
          <button
            type="button"
            className="link-button"
            onClick={() => apply({ ...filters, collection: '', record: '', related: '' })}
          >
            Every record
          </button>
        </p>
      ) : null}
      <form aria-label="Audit filters" onSubmit={show}>
        <div className="fields">
          <label>
            Person (email or user id)
            <input {...field('person')} maxLength={320} />
          </label>
          <label>
            Device (name or id)
            <input {...field('device')} maxLength={128} />
          </label>
          <label>
            What
            <select {...field('what')}>
              {actionChoices.map((c) => (
                <option key={c.key} value={c.key}>
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
          <label>
            Kind of record
            <select {...field('collection')}>
              <option value="">Any</option>
              {Object.entries(kinds).map(([collection, kind]) => (
                <option key={collection} value={collection}>
                  {kind}
                </option>
              ))}
              {/* A kind a link named that this app does not know of: shown as the server calls it. */}
              {unknownKind ? <option value={filters.collection}>{filters.collection}</option> : null}
            </select>
          </label>
          <label>
            Record id
            <input {...field('record')} maxLength={128} />
          </label>
          <label className="checkbox">
            <input
              type="checkbox"
              name="related"
              checked={draft.related === 'yes'}
              onChange={(e) => setDraft((d) => ({ ...d, related: e.target.checked ? 'yes' : '' }))}
            />
            With the records that name it (a patient&rsquo;s visits, notes, prescriptions, forms)
          </label>
        </div>
        <div className="buttons">
          <button type="submit" disabled={!isOnline}>
            Show
          </button>
          <button type="button" disabled={!isOnline} onClick={() => apply(noFilters)}>
            Clear filters
          </button>
          <button
            type="button"
            disabled={!isOnline || saving.state === 'fetching'}
            onClick={() => void saveCsv()}
          >
            Save as CSV
          </button>
        </div>
      </form>
      {!isOnline && listing !== null ? (
        <p className="muted">The audit log comes from the server: connect to save it as CSV.</p>
      ) : null}
      <SavingWords saving={saving} />
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
                  <td>{e.deviceId !== null ? <DeviceLabel id={e.deviceId} /> : null}</td>
                  <td>{eventWords(e)}</td>
                  <td>
                    {subjectWords(e)}
                    {(e.action === 'device-named' || e.action === 'device-use') && e.recordId !== null ? (
                      <>
                        {' '}
                        <DeviceLabel id={e.recordId} />
                      </>
                    ) : e.recordId !== null ? (
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

/** How "Save as CSV" went, in words. */
function SavingWords({ saving }: { saving: Saving }) {
  switch (saving.state) {
    case 'idle':
      return null;
    case 'fetching':
      return <p role="status">Fetching the events to save… {count(saving.fetched)} so far.</p>;
    case 'saved':
      return (
        <p role="status">
          {saving.capped
            ? `Saved the newest ${count(saving.count)} in ${saving.file}: more match these filters. Narrow them (From, To) to save the older ones.`
            : `Saved ${count(saving.count)} in ${saving.file}.`}
        </p>
      );
    case 'failed':
      return (
        <p role="alert" className="error">
          Could not save the audit log: {saving.message}
        </p>
      );
  }
}

/** Whose history the page shows, in words: a patient this device holds by name, else the kind and id. */
function RecordWords({ collection, id }: { collection: string; id: string }) {
  if (id === '') return <>Only {kindOf(collection)} records.</>;
  if (collection === 'patients') return <PatientWords id={id} />;
  return (
    <>
      History of one record: the {kindOf(collection === '' ? null : collection)} <code>{id}</code>.
    </>
  );
}

/**
 * What a record's history with its related records covers, once the server said: "With the 5
 * records that name it." A history of more than the server gathers says it is cut short.
 */
function RelatedWords({ related }: { related: AuditResponse['related'] | undefined }) {
  if (related === undefined) return <>With the records that name it.</>;
  const others = related.records - 1;
  if (related.truncated)
    return (
      <>
        More records name it than the server gathers at once: the events of the first{' '}
        {others.toLocaleString()} are listed.
      </>
    );
  return others === 0 ? (
    <>No other record names it.</>
  ) : (
    <>
      With the {others === 1 ? 'record that names' : `${others.toLocaleString()} records that name`} it
      (visits, notes, prescriptions, forms).
    </>
  );
}

/** A patient's name, from this device (the audit log has none); their id when the device holds them not. */
function PatientWords({ id }: { id: string }) {
  const patient = useRecord<Patient>('patients', id);
  return patient === null ? (
    <>
      History of one record: the patient <code>{id}</code>, not on this device.
    </>
  ) : (
    <>
      History of one record: the patient <strong>{patient.data.name}</strong> <code>{id}</code>.
    </>
  );
}
