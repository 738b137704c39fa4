/**
 * When a sync happened, as the header says it: the time of day for today, with the day for any
 * other ("at 14:02" read on a tablet two days offline would claim the records are fresh).
 */
export function syncTime(iso: string, now: Date): string {
  const at = new Date(iso);
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (at.toDateString() === now.toDateString()) return `at ${time}`;
  return `on ${at.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' })} at ${time}`;
}

/** The later of two sync times (ISO); either may be missing, and an unreadable one loses to the other. */
export function latestSyncTime(a: string | null, b: string | null): string | null {
  if (b === null || Number.isNaN(Date.parse(b))) return a;
  if (a === null || Number.isNaN(Date.parse(a))) return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}
