import { useAutoSync } from '@outpost/react';
import { automaticSync } from './device-client';
import type { DevicePerson } from './device-client';
import { writeAutoSyncChoice } from './stored-session';

/**
 * "Sync automatically", on Sync details: a nurse on a costly mobile plan turns it off, and the
 * tablet sends and fetches records only when she presses "Sync now" (decision 0034). Applied at once to the
 * open client, and kept on this device for this person, where the next opening and the service
 * worker read it.
 */
export function AutoSyncSwitch({ person }: { person: DevicePerson }) {
  const { autoSync, setAutoSync } = useAutoSync();
  const on = autoSync !== false;
  const choose = (next: boolean) => {
    // Turned on with changes waiting, the client sends them at once.
    setAutoSync(next ? automaticSync : false);
    writeAutoSyncChoice(person, next).catch((err: unknown) =>
      console.error('"Sync automatically" could not be kept for the next opening:', err),
    );
  };
  return (
    <section aria-labelledby="auto-sync-heading">
      <h2 id="auto-sync-heading">Automatic sync</h2>
      <label className="switch">
        <input
          type="checkbox"
          role="switch"
          checked={on}
          aria-describedby="auto-sync-said"
          onChange={(event) => choose(event.currentTarget.checked)}
        />
        Sync automatically
      </label>
      <p id="auto-sync-said">
        {on
          ? 'On: this tablet sends and receives changes by itself whenever it reaches the server, also with the app closed.'
          : 'Off: this tablet sends and fetches records only when you press “Sync now”. Changes made here wait on it until then, also with the app closed.'}
      </p>
    </section>
  );
}

/**
 * In the header beside "Last synced" while "Sync automatically" is off, so that nobody forgets
 * that nothing goes by itself. Nothing while it is on.
 */
export function AutoSyncOff() {
  const { autoSync } = useAutoSync();
  if (autoSync !== false) return null;
  return (
    <span className="last-sync auto-sync-off">
      Automatic sync off: changes go with &ldquo;Sync now&rdquo;
    </span>
  );
}
