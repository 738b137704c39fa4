import { useEffect, useState } from 'react';
import type { RecordsKeyMissing } from './open-client';
import { openSealedRecordsKey } from './records-key';
import { LockDialog } from './screen-lock';
import type { Session } from './session';

interface RecordsLockedProps {
  session: Session;
  /** Why the key is not at hand (open-client.ts). */
  reason: RecordsKeyMissing;
  /** The key is held now: the records may open. */
  onUnlocked: () => void;
  onSignedInAgain: (session: Session) => void;
  onSignOut: () => void;
}

const explanations: Record<RecordsKeyMissing, string> = {
  unreachable: 'They are encrypted on this device, and the server cannot be reached to open them.',
  refused: 'They are encrypted on this device, and the server no longer accepts this sign-in to open them.',
  'no-session':
    'They are encrypted on this device, and the server has not yet confirmed the sign-in made here without the network.',
  'other-key':
    'They are encrypted on this device under a key the server no longer gives: your password opens them.',
};

/**
 * The person's records are encrypted on this device (decision 0054), and this tab has no key to
 * them: opened with no network (a reload in the field), with a session the server no longer
 * accepts, or with a key from the server that does not open them. Their password opens the key
 * sealed on the device, as the screen lock checks it; failing that, the server checks it and hands
 * the key again.
 */
export function RecordsLocked({
  session,
  reason,
  onUnlocked,
  onSignedInAgain,
  onSignOut,
}: RecordsLockedProps) {
  const isOnline = useBrowserOnline();
  return (
    <LockDialog
      session={session}
      isOnline={isOnline}
      heading="Your records on this device are locked"
      explanation={explanations[reason]}
      prompt="Enter your password to open them"
      opensOnDevice={(password, stretched) => openSealedRecordsKey(session, password, stretched)}
      // With no session the server accepts, its sign-in is needed anyway, and hands the key again:
      // opened on the device first, the records would ask the password once more at their first
      // sync. Out of reach (a reload in the field), the device opens them, and the server asks the
      // password once it is reached, as after an offline sign-in.
      serverFirst={reason === 'refused' || reason === 'no-session'}
      onUnlocked={onUnlocked}
      onSignedInAgain={onSignedInAgain}
      onSignOut={onSignOut}
    />
  );
}

/** The browser's own idea of the network: no sync client is open yet to ask the server. */
function useBrowserOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);
  return online;
}
