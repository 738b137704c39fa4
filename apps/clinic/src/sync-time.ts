/** "14:02": the time of day, as the tablet writes it. */
function timeOfDay(at: Date): string {
  return at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** "21 Nov 2026": a day, with its year (a tablet may have been offline across a new year). */
function day(at: Date): string {
  return at.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' });
}

/**
 * When a sync happened, as the header says it: the time of day for today, with the day for any
 * other ("at 14:02" read on a tablet two days offline would claim the records are fresh).
 */
export function syncTime(iso: string, now: Date): string {
  const at = new Date(iso);
  if (at.toDateString() === now.toDateString()) return `at ${timeOfDay(at)}`;
  return `on ${day(at)} at ${timeOfDay(at)}`;
}

/**
 * Since when a change has waited to be sent, read by a nurse who must know that unsent work is
 * getting old: "since 14:02" today, "since yesterday at 14:02", else "since 21 Nov 2026 at 14:02".
 */
export function waitingSince(iso: string, now: Date): string {
  const at = new Date(iso);
  if (at.toDateString() === now.toDateString()) return `since ${timeOfDay(at)}`;
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (at.toDateString() === yesterday.toDateString()) return `since yesterday at ${timeOfDay(at)}`;
  return `since ${day(at)} at ${timeOfDay(at)}`;
}

/**
 * How many changes wait and since when the oldest has: "1 change waiting since 14:02", "3 changes
 * waiting, the oldest since yesterday at 14:02"; null when none waits.
 */
export function waitingText(count: number, oldestAt: string | null, now: Date): string | null {
  if (count === 0) return null;
  const since = oldestAt === null || Number.isNaN(Date.parse(oldestAt)) ? null : waitingSince(oldestAt, now);
  if (count === 1) return since === null ? '1 change waiting' : `1 change waiting ${since}`;
  return since === null ? `${count} changes waiting` : `${count} changes waiting, the oldest ${since}`;
}

/**
 * "2026-11-24 01:47": a time the server wrote (ISO 8601, UTC) to the minute, as the administrator's
 * pages and a signed note show it; the caller says "UTC" where the line needs it.
 */
export function utcMinute(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}
