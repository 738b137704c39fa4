/**
 * `npm start`'s `OUTPOST_FILE_CHUNKS_PER_MINUTE` as `limits.fileChunksPerMinute`, checked as
 * createSyncServer checks it, with an error that names the variable.
 */

/**
 * Unset or empty leaves the default (undefined); `0` leaves chunks uncounted, as
 * `OUTPOST_RATE_LIMIT=0` turns the rate limit off; anything but digits is refused.
 */
export function fileChunksPerMinuteFromEnv(value: string | undefined): number | false | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  // Digits only: Number() would take "1e3", "0x10" and "-5" as numbers nobody meant.
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new RangeError(
      `OUTPOST_FILE_CHUNKS_PER_MINUTE must be a whole number of chunks a minute from 1, or 0 to leave them unlimited, got "${value}"`,
    );
  }
  const n = Number(text);
  return n === 0 ? false : n;
}
