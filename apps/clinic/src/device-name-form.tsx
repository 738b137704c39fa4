import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { deviceNameMaxLength } from '@outpost/core';
import { useNetworkStatus } from '@outpost/react';
import { rememberedDeviceName, useDeviceNames } from './device-names';
import { deviceId } from './session';

/**
 * A device's name, typed and saved on the server (decision 0056). Saved as typed; the server trims
 * it and refuses, in its own words, a name another device of the clinic has. An empty name removes
 * the name. Naming needs the server: offline the field is shown but cannot be saved.
 */
export function DeviceNameForm({
  id,
  current,
  label,
  onDone,
}: {
  id: string;
  current: string | null;
  label: string;
  /** Called once saved or cancelled, for a form opened from a list. */
  onDone?: () => void;
}) {
  const { isOnline } = useNetworkStatus();
  const { name } = useDeviceNames();
  const [typed, setTyped] = useState(current ?? '');
  const [edited, setEdited] = useState(false);
  // The name read from the server after the form showed: shown, unless the person is typing.
  useEffect(() => {
    if (!edited) setTyped(current ?? '');
  }, [current, edited]);
  const [saving, setSaving] = useState(false);
  const [said, setSaid] = useState<{ error: boolean; text: string } | null>(null);

  const save = (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setSaid(null);
    const wanted = typed.trim() === '' ? null : typed;
    name(id, wanted).then(
      (answer) => {
        setSaving(false);
        setTyped(answer.name ?? '');
        setEdited(false);
        setSaid({ error: false, text: answer.name === null ? 'Name removed.' : `Named “${answer.name}”.` });
        onDone?.();
      },
      (err: unknown) => {
        setSaving(false);
        setSaid({ error: true, text: err instanceof Error ? err.message : String(err) });
      },
    );
  };

  return (
    <form className="device-name" onSubmit={save}>
      <label>
        {label}
        <input
          value={typed}
          maxLength={deviceNameMaxLength}
          placeholder="Ward 2 tablet"
          onChange={(e) => {
            setTyped(e.target.value);
            setEdited(true);
          }}
        />
      </label>
      <button type="submit" disabled={saving || !isOnline}>
        Save name
      </button>
      {onDone !== undefined ? (
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      ) : null}
      {!isOnline ? <p className="muted">Naming a device needs the server: connect to save.</p> : null}
      {said !== null ? (
        <p role={said.error ? 'alert' : 'status'} className={said.error ? 'error' : undefined}>
          {said.text}
        </p>
      ) : null}
    </form>
  );
}

/**
 * Sync details' "This tablet": its name, so a colleague or the administrator can tell it from the
 * others on the Statistics page and in the audit log, and its id, which support may ask for.
 */
export function ThisDevice() {
  const own = deviceId();
  const name = useDeviceNames().names.get(own) ?? rememberedDeviceName();
  return (
    <section aria-labelledby="this-device-heading">
      <h2 id="this-device-heading">This tablet</h2>
      <p>
        {name === null ? 'No name yet.' : <>Named “{name}”.</>} Its id is <code>{own}</code>.
      </p>
      <p className="muted">
        A name such as “Ward 2 tablet” tells this tablet apart on the clinic’s statistics and audit log.
      </p>
      <DeviceNameForm id={own} current={name} label="Name of this tablet" />
    </section>
  );
}
