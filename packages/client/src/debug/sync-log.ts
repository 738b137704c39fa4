import type { NetworkSnapshot } from '../network/network-monitor';
import type { SyncProgress, SyncResult } from '../sync/sync-engine';

/** Where a log line comes from, as its prefix says: `[SyncEngine] sync finished in 120 ms: ...`. */
export type SyncLogSource = 'SyncEngine' | 'NetworkMonitor';

/**
 * One line of what the client did. Never a record's contents, nor an error's message (a server's
 * words may quote what was sent): counts, phases, error codes and network states only, so a log
 * a nurse sends to support carries no patient's data.
 */
export interface SyncLogEntry {
  at: string;
  source: SyncLogSource;
  level: 'debug' | 'warn';
  message: string;
}

/** Receives each line as it happens (the `debug` option). */
export type SyncLogger = (entry: SyncLogEntry) => void;

/** Prints a line as seed 001 shows them: `[SyncEngine] ...`, `[NetworkMonitor] ...`. */
export const consoleLogger: SyncLogger = (entry) => {
  const print = entry.level === 'warn' ? console.warn : console.debug;
  print(`[${entry.source}] ${entry.message}`);
};

/**
 * Whether `localStorage.DEBUG_OFFLINE` is `'true'` (seed 001: set it in the browser's console to
 * see the client's lines there, with no change to the app). False where there is no storage.
 */
export function debugFlagSet(): boolean {
  try {
    // Looked up, not assumed: a service worker or Node has no localStorage.
    const storage = (globalThis as { localStorage?: { getItem(key: string): string | null } }).localStorage;
    return storage?.getItem('DEBUG_OFFLINE') === 'true';
  } catch {
    // Storage refused (a sandboxed frame): no flag.
    return false;
  }
}

/** Where the `debug` option sends the lines: left out, the console only under DEBUG_OFFLINE. */
export function logSinkOf(option: boolean | SyncLogger | undefined): SyncLogger | null {
  if (option === undefined) return debugFlagSet() ? consoleLogger : null;
  if (option === true) return consoleLogger;
  return option === false ? null : option;
}

/** The last lines, kept in memory for `exportDebugData`, and each told to `sink` when there is one. */
export class SyncLog {
  private readonly kept: SyncLogEntry[] = [];

  constructor(
    private readonly sink: SyncLogger | null,
    private readonly now: () => number = Date.now,
    private readonly keep = 200,
  ) {}

  add(source: SyncLogSource, level: SyncLogEntry['level'], message: string): void {
    const entry: SyncLogEntry = { at: new Date(this.now()).toISOString(), source, level, message };
    this.kept.push(entry);
    if (this.kept.length > this.keep) this.kept.shift();
    if (this.sink === null) return;
    try {
      this.sink(entry);
    } catch {
      // A logger that throws must not stop the sync it watches.
    }
  }

  entries(): SyncLogEntry[] {
    return [...this.kept];
  }
}

const phaseWords: Readonly<Record<SyncProgress['phase'], string | null>> = {
  push: 'sending changes',
  pull: 'receiving changes',
  done: null,
};

/** "sync finished in 120 ms: pushed 3 (3 applied, ...), pulled 5, up to date; files uploaded 1, 0 waiting". */
export function describeSync(result: SyncResult): string {
  const { sent, applied, conflicts, rejected, held } = result.pushed;
  const ending = result.success ? 'finished' : `did not finish (${result.error?.code ?? 'unknown'})`;
  const scope = result.scope ? ` [${result.scope.collections.join(', ')}]` : '';
  return (
    `sync${scope} ${ending} in ${result.duration} ms: pushed ${sent} (${applied} applied, ${conflicts} in conflict, ` +
    `${rejected} refused, ${held} held back), pulled ${result.pulled}` +
    `${result.upToDate ? ', up to date' : ''}; files uploaded ${result.files.uploaded}, ` +
    `${result.files.waiting} waiting, ${result.files.failed} stopped`
  );
}

/** What changed in the network's state, in words; null when nothing a person would tell apart. */
export function describeNetwork(before: NetworkSnapshot | null, now: NetworkSnapshot): string | null {
  if (now.isTransitioning && before?.isTransitioning !== true) return 'checking connection';
  if (now.isTransitioning) return null;
  if (
    before !== null &&
    !before.isTransitioning &&
    before.online === now.online &&
    before.quality === now.quality
  )
    return null;
  return now.online ? `online (${now.quality})` : 'offline';
}

/** The phase a progress report starts, in words, or null when it continues one already told. */
export function describePhase(before: SyncProgress | null, now: SyncProgress): string | null {
  if (before !== null && before.phase === now.phase) return null;
  return phaseWords[now.phase];
}
