import { useEffect, useRef, useState } from 'react';
import { useSyncClient, useSyncEngine } from '@outpost/react';
import type { RestoreReport } from '@outpost/client';

/**
 * Says, under the header, that the clinic's server was restored from a backup and that this tablet
 * gave it back the changes it held and the server had lost, and sent it again the files it holds
 * (decision 0050), until the person has read it. Read from the client's restore report, which the
 * store keeps: the next sync, seconds later, would otherwise take the words away, and a give-back
 * made by the service worker's sync while no tab was open (decision 0026) is told when the app opens.
 * Who restored the server (the office) wants to know the tablets did their part; a nurse whose
 * patients seemed to vanish from the office's screen knows why they came back.
 */
export function RestoredNotice() {
  const client = useSyncClient();
  const { lastResult } = useSyncEngine();
  const [report, setReport] = useState<RestoreReport | null>(() => client.restoreReport);
  // The report the person dismissed: its removal from the store waits behind a sync under way,
  // whose end must not show it again. A later give-back makes a new report, which is shown.
  const dismissed = useRef<RestoreReport | null>(null);
  // Each sync's end may have added to it (the report is written before anyone hears of the end).
  useEffect(() => {
    const now = client.restoreReport;
    setReport(now !== null && now === dismissed.current ? null : now);
  }, [client, lastResult]);
  if (report === null) return null;
  const changes = report.resent === 1 ? 'one change' : `${report.resent.toLocaleString()} changes`;
  const files = report.files === 1 ? 'the file' : `the ${report.files.toLocaleString()} files`;
  return (
    <p role="status" className="restored-notice">
      {report.resent > 0 ? (
        <>
          The clinic&rsquo;s server was restored from a backup that did not have all of this tablet&rsquo;s
          work. This tablet gave back {changes} the server had lost.
        </>
      ) : (
        <>The clinic&rsquo;s server was restored from a backup.</>
      )}
      {report.files > 0 && ` This tablet sent the server again ${files} it holds, for any the backup lacked.`}{' '}
      <button
        type="button"
        className="link-button"
        onClick={() => {
          dismissed.current = report;
          setReport(null);
          // Kept in the store until read: read now, on this tablet, for good.
          void client.dismissRestoreReport().catch(() => undefined);
        }}
      >
        OK
      </button>
    </p>
  );
}
