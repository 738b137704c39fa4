import { useCallback, useEffect, useState } from 'react';
import { flushSync } from 'react-dom';
import { idleMs, markActivity, watchActivity } from './idle-time';

const minuteMs = 60_000;

/**
 * Whether the app is locked for want of use (decision 0048): after `afterMinutes` without a touch,
 * a key or a scroll (null: never). Opened or reloaded on a device left idle past that, it is locked
 * from the first frame. Once locked it stays so until `unlock`, whatever the setting becomes: only
 * the person's password opens it again. What happens on the lock screen is not use of the app.
 */
export function useIdleLock(afterMinutes: number | null): { locked: boolean; unlock: () => void } {
  const lockMs = afterMinutes === null ? null : afterMinutes * minuteMs;
  const [locked, setLocked] = useState(() => lockMs !== null && idleMs() >= lockMs);

  useEffect(() => (locked ? undefined : watchActivity()), [locked]);

  useEffect(() => {
    if (locked || lockMs === null) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Due when the last activity kept is lockMs old; activity meanwhile moves it, so it is read
    // again then, and the wait set anew.
    const check = () => {
      clearTimeout(timer);
      const left = lockMs - idleMs();
      // Drawn at once rather than at React's next turn: a tablet woken shows the last frame it drew.
      if (left <= 0) flushSync(() => setLocked(true));
      else timer = setTimeout(check, left);
    };
    // Already due: the clinic's setting just came down below the time the tablet has sat idle
    // (at opening, the state above starts locked).
    const left = lockMs - idleMs();
    if (left <= 0) setLocked(true);
    else timer = setTimeout(check, left);
    // A sleeping tablet's timers stand still: woken, or shown again, it checks at once.
    document.addEventListener('visibilitychange', check);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', check);
    };
  }, [locked, lockMs]);

  const unlock = useCallback(() => {
    markActivity();
    setLocked(false);
  }, []);
  return { locked, unlock };
}
