import { useEffect, useState } from 'react';

/**
 * The browser's storage manager, or null where there is none: an insecure origin (a tablet
 * opening `http://<laptop-ip>:8080`), an older browser. Nothing of this module shows there.
 */
function storageManager(): StorageManager | null {
  const storage = (navigator as Partial<Navigator>).storage;
  return storage !== undefined && typeof storage.persisted === 'function' ? storage : null;
}

/** The request of this page, once made: true when the browser keeps the data for good. */
let asked: Promise<boolean> | null = null;

/**
 * Asks the browser to keep this app's data for good ("persistent" storage), so that it never
 * clears the tablet's records, and the changes only on it, to free space ("best-effort" storage,
 * the default). Once per page, after a person has signed in, and only when it does not already
 * (`persisted()`). Chromium decides by itself, without asking the person (an installed app, a
 * site used often, notifications allowed); Firefox may ask them. It may grant it at a later
 * opening, so each opening asks again. Nothing waits for the answer, and a failure is an answer
 * of no.
 */
export function askToKeepData(): Promise<boolean> {
  const storage = storageManager();
  if (storage === null) return Promise.resolve(false);
  asked ??= (async () => {
    if (await storage.persisted()) return true;
    return typeof storage.persist === 'function' ? storage.persist() : false;
  })().catch(() => false);
  return asked;
}

/** What the browser says of this app's data on the tablet. */
export interface StorageState {
  /** Kept for good (true), or the browser may clear it when the tablet runs short of space. */
  persisted: boolean;
  /** The browser's estimate of the bytes used and allowed, when it gives one. */
  usage: number | null;
  quota: number | null;
}

/** The browser's answer now, or null where it has no storage manager. */
export async function readStorageState(): Promise<StorageState | null> {
  const storage = storageManager();
  if (storage === null) return null;
  const [persisted, estimate] = await Promise.all([
    storage.persisted().catch(() => false),
    typeof storage.estimate === 'function'
      ? storage.estimate().catch(() => ({}) as StorageEstimate)
      : ({} as StorageEstimate),
  ]);
  const bytes = (value: number | undefined) =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
  return { persisted, usage: bytes(estimate.usage), quota: bytes(estimate.quota) };
}

const units = ['KB', 'MB', 'GB', 'TB'] as const;

/**
 * An amount of data as a tablet's settings say it, in units of 1000: "512 bytes", "3.5 MB",
 * "12 MB", "4.3 GB". One decimal under 10, none above.
 */
export function amountOfData(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} ${Math.round(bytes) === 1 ? 'byte' : 'bytes'}`;
  let value = bytes / 1000;
  let unit = 0;
  const rounded = (v: number) => (v < 9.95 ? Math.round(v * 10) / 10 : Math.round(v));
  // 999.6 KB reads "1 MB", not "1000 KB".
  while (rounded(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${rounded(value)} ${units[unit]}`;
}

/**
 * Whether the browser keeps this app's data for good on the tablet, and how much space it takes,
 * on the Sync details page beside the changes waiting, which exist only here until sent. When the
 * browser may clear it, what a nurse can do about it. Nothing where the browser cannot say.
 */
export function DeviceStorage() {
  const [state, setState] = useState<StorageState | null>(null);
  useEffect(() => {
    let current = true;
    const read = () =>
      readStorageState().then(
        (read) => {
          if (current) setState(read);
        },
        () => undefined,
      );
    void read();
    // The request made at sign-in may still wait for the browser (or the person): read again once
    // it has an answer. It never holds anything up.
    void askToKeepData().then(read);
    return () => {
      current = false;
    };
  }, []);
  if (state === null) return null;
  return (
    <section aria-labelledby="device-storage-heading">
      <h2 id="device-storage-heading">Storage on this tablet</h2>
      {state.persisted ? (
        <p>Kept for good: the browser will not clear this app&rsquo;s data to free space.</p>
      ) : (
        <>
          <p>May be cleared by the browser: not kept for good on this tablet.</p>
          <p className="storage-hint">
            This browser may clear this app&rsquo;s data when the tablet runs short of space, changes not yet
            sent included: install the app or keep it open, and sync often.
          </p>
        </>
      )}
      {state.usage !== null ? (
        <p>
          Space used: {amountOfData(state.usage)}
          {state.quota !== null ? ` of about ${amountOfData(state.quota)} the browser allows this app` : ''}.
        </p>
      ) : null}
    </section>
  );
}
