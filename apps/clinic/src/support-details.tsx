import { useSyncClient } from '@outpost/react';
import { rememberedDeviceName } from './device-names';

/** `outpost-sync-details-2026-11-23T14-02-05Z.json`: a name a clinic's support can sort by. */
function fileName(at: string): string {
  return `outpost-sync-details-${at.replace(/\.\d+Z$/, 'Z').replaceAll(':', '-')}.json`;
}

/**
 * For a nurse whose changes will not go: "Save details for support" saves what the clinic's
 * support needs to see why (`client.exportDebugData()`: the tablet's sync state, the changes
 * waiting by id and status, the last log lines) as a file she can send. It holds no patient's
 * data, and says so, so she need not worry about passing it on.
 */
export function SupportDetails() {
  const client = useSyncClient();
  const save = () => {
    // With the tablet's name, when it has one: support is told "the ward 2 tablet", not its id.
    const details = { ...client.exportDebugData(), deviceName: rememberedDeviceName() };
    const blob = new Blob([`${JSON.stringify(details, null, 2)}\n`], { type: 'application/json' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = fileName(details.exportedAt);
    link.click();
    // The browser has the file once the click is handled; the address is not needed after.
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  };
  return (
    <section aria-labelledby="support-details-heading">
      <h2 id="support-details-heading">For the clinic&apos;s support</h2>
      <p>
        If changes will not go, save these details and send them to whoever looks after the tablets. They say
        how this tablet syncs and which changes wait, by number only: no patient&apos;s name or anything typed
        about them.
      </p>
      <button type="button" onClick={save}>
        Save details for support
      </button>
    </section>
  );
}
