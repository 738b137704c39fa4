/**
 * When someone last used the app on this device (decision 0048), kept in localStorage: a reload, or
 * a tab opened later, reads it, so neither opens the records of a tablet left idle past its lock.
 * Per device, not per person: the tablet on the desk is what was left unattended.
 */
const lastActivityKey = 'outpost.lastActivityAt';

/** What counts as using the app: a touch, a click, a key, a scroll of the wheel. */
const activityEvents = ['pointerdown', 'keydown', 'touchstart', 'wheel'] as const;

/**
 * Activity is written at most this often: a lock counted in minutes does not need the time to the
 * second, and typing a note should not write to storage at every key. The time kept may be this
 * much older than the last touch, which can only lock a little early, never late.
 */
export const activityWriteIntervalMs = 5_000;

/** The time (ms since the epoch) of the last activity kept on this device, or null for none. */
export function lastActivityAt(): number | null {
  const kept = Number(localStorage.getItem(lastActivityKey) ?? Number.NaN);
  return Number.isFinite(kept) ? kept : null;
}

/** Keeps `at` as the last activity: a sign-in or an unlock is one, whatever was kept before. */
export function markActivity(at: number = Date.now()): void {
  localStorage.setItem(lastActivityKey, String(at));
}

/**
 * How long the device has gone without use, as far as it can tell. A first opening (nothing kept)
 * starts counting now. A time kept ahead of the clock by more than the write interval means the
 * clock was set back, and how long it has been is unknown: counted as forever, so the lock asks
 * for the password rather than trusting the clock.
 */
export function idleMs(now: number = Date.now()): number {
  const last = lastActivityAt();
  if (last === null) {
    markActivity(now);
    return 0;
  }
  if (last > now + activityWriteIntervalMs) return Number.POSITIVE_INFINITY;
  return Math.max(0, now - last);
}

/**
 * Records activity in the app until the returned function is called: listeners on the window, in
 * the capture phase (a control that stops an event still counts) and passive (scrolling is never
 * held up), writing at most once per `activityWriteIntervalMs`.
 */
export function watchActivity(target: Window = window): () => void {
  let written = Number.NEGATIVE_INFINITY;
  const onActivity = () => {
    const now = Date.now();
    // Either way: a clock set back must not stop the writes until it catches up.
    if (Math.abs(now - written) < activityWriteIntervalMs) return;
    written = now;
    markActivity(now);
  };
  const options = { capture: true, passive: true } as const;
  for (const type of activityEvents) target.addEventListener(type, onActivity, options);
  return () => {
    for (const type of activityEvents) target.removeEventListener(type, onActivity, options);
  };
}
