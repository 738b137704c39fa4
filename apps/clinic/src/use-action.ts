import { useCallback, useState } from 'react';

/**
 * Runs a local write and keeps its error for the form to show: a write is refused only for a
 * reason a person can act on (a missing field, a signed note), never because of the network.
 */
export function useAction(): {
  error: string | null;
  busy: boolean;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
} {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (err) {
      setError(describe(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, busy, run, clear: useCallback(() => setError(null), []) };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // Validation errors carry core's describeIssues list: name the fields a person must fix.
  const details = (err as { details?: unknown }).details;
  if (Array.isArray(details)) {
    const fields = (details as Array<{ path?: string; message?: string }>)
      .filter((d) => typeof d?.message === 'string')
      .map((d) => (d.path ? `${d.path}: ${d.message}` : String(d.message)));
    if (fields.length > 0) return `${err.message} (${fields.join('; ')})`;
  }
  return err.message;
}
