import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { passwordBounds, peopleResponseSchema, personResponseSchema } from '@outpost/core';
import type { PeopleResponse, Person } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { fetchJson } from '../server-json';
import { FormError } from '../form-error';
import { utcMinute } from '../sync-time';
import { ScreenLockSetting } from './screen-lock-setting';

const path = '/v1/admin/users';

/** A role as the clinic calls it. */
const roleNames: Readonly<Record<string, string>> = { admin: 'Administrator', clinician: 'Clinician' };
export const roleWords = (role: string) =>
  Object.hasOwn(roleNames, role) ? (roleNames[role] ?? role) : role;
const rolesWords = (roles: readonly string[]) => roles.map(roleWords).join(', ');

/** "2026-03-02 09:15 UTC". */
const when = (iso: string) => `${utcMinute(iso)} UTC`;

const passwordHint = `At least ${passwordBounds.min} characters and not easy to guess.`;

/** What the server said, or the page's own words when the request did not reach it. */
function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text === 'Failed to fetch' ? 'the server could not be reached' : text;
}

/**
 * The clinic's people (decision 0044), for administrators: who may sign in and with which role;
 * add a person with a first password the administrator tells them; change a person's role, set a
 * new password, disable or enable them. Nobody is deleted: a person who leaves is disabled, and
 * the audit log keeps naming them. Everything here is the server's: offline it says so.
 */
export function PeoplePage({
  tokens,
  canManage,
  clinic,
}: {
  tokens: TokenSession;
  canManage: boolean;
  /** The clinic's tenant, under which this device keeps the screen lock it applies. */
  clinic: string;
}) {
  const { isOnline } = useNetworkStatus();
  const [loaded, setLoaded] = useState<PeopleResponse | null>(null);
  const [readError, setReadError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);

  useEffect(() => {
    if (!isOnline || !canManage) return;
    let cancelled = false;
    fetchJson(path, tokens, (b) => peopleResponseSchema.parse(b)).then(
      (answer) => {
        if (cancelled) return;
        setLoaded(answer);
        setReadError(null);
      },
      (err: unknown) => !cancelled && setReadError(messageOf(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [isOnline, tokens, canManage]);

  /** A person as the server now has them, in place in the list (or added to it, by email). */
  const took = (person: Person) =>
    setLoaded((l) =>
      l === null
        ? l
        : {
            ...l,
            people: [...l.people.filter((p) => p.id !== person.id), person].sort((a, b) =>
              a.email < b.email ? -1 : a.email > b.email ? 1 : 0,
            ),
          },
    );

  if (!canManage)
    return (
      <section aria-labelledby="people-heading">
        <h1 id="people-heading">People</h1>
        <p>The clinic’s people are managed by its administrators.</p>
      </section>
    );

  const person = loaded?.people.find((p) => p.id === chosen) ?? null;
  return (
    <section aria-labelledby="people-heading" className="people">
      <h1 id="people-heading">People</h1>
      {!isOnline ? (
        <p role="status">
          {loaded === null
            ? 'People are managed on the server: connect to see them.'
            : 'People are managed on the server: connect to add or change anyone.'}
        </p>
      ) : null}
      {readError !== null ? (
        <p role="alert" className="error">
          Could not read the clinic’s people: {readError}
        </p>
      ) : null}
      {loaded !== null ? (
        <>
          <table className="grid" aria-label="People">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {loaded.people.map((p) => (
                <tr key={p.id} aria-current={p.id === chosen ? 'true' : undefined}>
                  <td>{p.email}</td>
                  <td>{rolesWords(p.roles)}</td>
                  <td>
                    {p.disabledAt !== null
                      ? `Disabled since ${when(p.disabledAt)}`
                      : p.passwordChangeDue
                        ? 'Active, own password not chosen yet'
                        : 'Active'}
                  </td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Change ${p.email}`}
                      disabled={!isOnline}
                      onClick={() => setChosen(p.id)}
                    >
                      Change
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {person !== null && isOnline ? (
            <ChangePerson
              key={person.id}
              person={person}
              roles={loaded.roles}
              tokens={tokens}
              onChanged={took}
              onClose={() => setChosen(null)}
            />
          ) : null}
          {isOnline ? <AddPerson roles={loaded.roles} tokens={tokens} onAdded={took} /> : null}
        </>
      ) : null}
      {/* Who may open the records on a tablet left on a desk: beside who may sign in at all. */}
      <ScreenLockSetting tokens={tokens} clinic={clinic} />
    </section>
  );
}

/** A role to choose: the clinic's roles in words, clinician first where there is one. */
function RoleSelect({ roles, value, name }: { roles: readonly string[]; value?: string; name: string }) {
  const ordered = [...roles].sort((a, b) =>
    a === 'clinician' ? -1 : b === 'clinician' ? 1 : a.localeCompare(b),
  );
  return (
    <select name={name} defaultValue={value ?? ordered[0]}>
      {ordered.map((r) => (
        <option key={r} value={r}>
          {roleWords(r)}
        </option>
      ))}
    </select>
  );
}

function AddPerson({
  roles,
  tokens,
  onAdded,
}: {
  roles: readonly string[];
  tokens: TokenSession;
  onAdded: (person: Person) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const { person } = await fetchJson(path, tokens, (b) => personResponseSchema.parse(b), {
        email: String(data.get('email') ?? ''),
        password: String(data.get('password') ?? ''),
        roles: [String(data.get('role') ?? '')],
      });
      onAdded(person);
      form.reset();
      setDone(
        `Added ${person.email} as ${rolesWords(person.roles)}. Tell them their password: they choose their own when they first sign in.`,
      );
    } catch (err) {
      setError(`Not added: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="person-form" aria-label="Add a person" onSubmit={(e) => void submit(e)}>
      <h2>Add a person</h2>
      <label>
        Email
        <input name="email" type="email" autoComplete="off" required />
      </label>
      <label>
        Role
        <RoleSelect roles={roles} name="role" />
      </label>
      <label>
        First password
        <input
          name="password"
          type="password"
          autoComplete="new-password"
          required
          aria-describedby="new-password-hint"
        />
      </label>
      <p id="new-password-hint" className="hint">
        {passwordHint} You tell them this password; they sign in with their email and it, and then choose
        their own.
      </p>
      <button type="submit" disabled={busy}>
        Add
      </button>
      <FormError error={error} />
      {done !== null ? <p role="status">{done}</p> : null}
    </form>
  );
}

function ChangePerson({
  person,
  roles,
  tokens,
  onChanged,
  onClose,
}: {
  person: Person;
  roles: readonly string[];
  tokens: TokenSession;
  onChanged: (person: Person) => void;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const send = async (change: Record<string, unknown>, saying: (p: Person) => string) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const answer = await fetchJson(
        `${path}/${encodeURIComponent(person.id)}`,
        tokens,
        (b) => personResponseSchema.parse(b),
        change,
        'PATCH',
      );
      onChanged(answer.person);
      setDone(saying(answer.person));
      return true;
    } catch (err) {
      setError(`Not changed: ${messageOf(err)}`);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const changeRole = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const role = String(new FormData(event.currentTarget).get('role') ?? '');
    void send(
      { roles: [role] },
      (p) =>
        `${p.email} is now ${rolesWords(p.roles)}. They were signed out on every device and sign in again.`,
    );
  };

  const setPassword = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const password = String(new FormData(form).get('password') ?? '');
    const ok = await send(
      { password },
      (p) =>
        `New password set for ${p.email}. They were signed out on every device: tell them the new password, and they choose their own when they sign in with it.`,
    );
    if (ok) form.reset();
  };

  const disabled = person.disabledAt !== null;
  return (
    <section className="person-change" aria-label={`Change ${person.email}`}>
      <h2>
        {person.email}
        <button type="button" className="link-button" onClick={onClose}>
          Close
        </button>
      </h2>
      <form aria-label="Role" onSubmit={changeRole}>
        <label>
          Role
          <RoleSelect roles={roles} name="role" value={person.roles[0]} />
        </label>
        <button type="submit" disabled={busy}>
          Change role
        </button>
        <p className="hint">Signs them out on every device; they sign in again with the new role.</p>
      </form>
      <form aria-label="New password" onSubmit={(e) => void setPassword(e)}>
        <label>
          New password
          <input name="password" type="password" autoComplete="new-password" required />
        </label>
        <button type="submit" disabled={busy}>
          Set password
        </button>
        <p className="hint">
          {passwordHint} Signs them out on every device; only the new password works from then on.
        </p>
      </form>
      <div className="person-access">
        {disabled ? (
          <>
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                void send(
                  { disabled: false },
                  (p) => `${p.email} is enabled: they can sign in with their password.`,
                )
              }
            >
              Enable
            </button>
            <p className="hint">They can sign in again with their password.</p>
          </>
        ) : (
          <>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                // One press ends every session of theirs: asked first, as ending sessions is.
                if (
                  !window.confirm(
                    `Disable ${person.email}? They are signed out on every device and can no longer sign in, until you enable them again.`,
                  )
                )
                  return;
                void send(
                  { disabled: true },
                  (p) =>
                    `${p.email} is disabled and was signed out on every device. The audit log keeps their name.`,
                );
              }}
            >
              Disable
            </button>
            <p className="hint">
              Signs them out on every device, and they can no longer sign in. Nobody is deleted: the audit log
              keeps their name, and you can enable them again.
            </p>
          </>
        )}
      </div>
      <FormError error={error} />
      {done !== null ? <p role="status">{done}</p> : null}
    </section>
  );
}
