import pg from 'pg';

export interface ListenHandlers {
  /** A NOTIFY on the channel, from any session of the database, this instance's included. */
  notice(payload: string): void;
  /**
   * LISTEN is in place, at first or again after the connection was lost: notices sent before
   * were never heard, so the listener should act as if any change might have been made.
   */
  listening(): void;
  /** Why the connection was lost or could not be made; it is tried again by itself. */
  error(err: Error): void;
}

export interface Listening {
  /** Settles once the first attempt to LISTEN succeeded or failed (then it is retried by itself). */
  readonly ready: Promise<void>;
  /** Stops listening and closes the connection. */
  stop(): Promise<void>;
}

const firstRetryMs = 500;
const lastRetryMs = 30_000;

/**
 * LISTEN on `channel` over a connection of its own (not the pool's: a pooled client is handed to
 * queries, and LISTEN belongs to one session for as long as it lives). PostgreSQL delivers a NOTIFY
 * only when the transaction that sent it commits, to every session listening, so every server
 * instance on one database hears of every committed change. A lost connection is made again, with
 * a growing wait, until stopped.
 */
export function listenPostgres(url: string, channel: string, handlers: ListenHandlers): Listening {
  let client: pg.Client | null = null;
  let stopped = false;
  let retryMs = firstRetryMs;
  let retryTimer: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    if (stopped) return;
    const next = new pg.Client({ connectionString: url });
    client = next;
    // A lost session ('error' then 'end', or 'end' alone) is made again; a stop ends it on purpose.
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (client === next) client = null;
      if (stopped) return;
      handlers.error(err ?? new Error('the LISTEN connection to PostgreSQL ended'));
      retryTimer = setTimeout(() => void connect(), retryMs);
      retryMs = Math.min(retryMs * 2, lastRetryMs);
    };
    next.on('error', onLost);
    next.on('end', () => onLost());
    next.on('notification', (message) => {
      if (message.channel === channel) handlers.notice(message.payload ?? '');
    });
    try {
      await next.connect();
      // Identifiers cannot be bound as parameters; escapeIdentifier quotes the channel safely.
      await next.query(`LISTEN ${next.escapeIdentifier(channel)}`);
    } catch (err) {
      onLost(err instanceof Error ? err : new Error(String(err)));
      await next.end().catch(() => undefined);
      return;
    }
    if (stopped) {
      await next.end().catch(() => undefined);
      return;
    }
    retryMs = firstRetryMs;
    handlers.listening();
  };
  return {
    ready: connect(),
    async stop() {
      stopped = true;
      if (retryTimer !== null) clearTimeout(retryTimer);
      const open = client;
      client = null;
      await open?.end().catch(() => undefined);
    },
  };
}
