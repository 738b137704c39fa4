import { useEffect, useState } from 'react';
import { useSyncEngine } from '@outpost/react';

/**
 * Says, under the header, that the clinic's server was restored from a backup and that this tablet
 * gave it back the changes it held and the server had lost, and sent it again the files it holds
 * (`SyncResult.restored`, decision 0050), until the person has read it: the next sync, seconds
 * later, would otherwise take the words away.
 * Who restored the server (the office) wants to know the tablets did their part; a nurse whose
 * patients seemed to vanish from the office's screen knows why they came back.
 */
export function RestoredNotice() {
  const { lastResult } = useSyncEngine();
  const [given, setGiven] = useState<{ resent: number; files: number; at: string } | null>(null);
  useEffect(() => {
    const restored = lastResult?.restored;
    if (lastResult && restored) {
      setGiven({ resent: restored.resent, files: restored.files ?? 0, at: lastResult.finishedAt });
    }
  }, [lastResult]);
  if (given === null) return null;
  const changes = given.resent === 1 ? 'one change' : `${given.resent.toLocaleString()} changes`;
  const files = given.files === 1 ? 'the file' : `the ${given.files.toLocaleString()} files`;
  return (
    <p role="status" className="restored-notice">
      {given.resent > 0 ? (
        <>
          The clinic&rsquo;s server was restored from a backup that did not have all of this tablet&rsquo;s
          work. This tablet gave back {changes} the server had lost.
        </>
      ) : (
        <>The clinic&rsquo;s server was restored from a backup.</>
      )}
      {given.files > 0 && ` This tablet sent the server again ${files} it holds, for any the backup lacked.`}{' '}
      <button type="button" className="link-button" onClick={() => setGiven(null)}>
        OK
      </button>
    </p>
  );
}
