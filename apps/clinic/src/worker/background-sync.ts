import { createSyncClient, indexedDbStoreLock } from '@outpost/client';
import type { SyncResult, TokenSession } from '@outpost/client';
import {
  autoSyncOff,
  backgroundSyncLock,
  backgroundSyncTag,
  deviceClientOptions,
  deviceDatabaseName,
  mayPass,
} from '../device-client';
import type { DevicePerson, SyncAnswer, SyncRequestMessage } from '../device-client';
import { RecordsKeyRefused, recordsEncrypted, recordsKeyFromServer } from '../records-key';
import { clinicTokenSession, personOf, readAutoSyncChoice, readStoredSession } from '../stored-session';

/** Who the worker syncs as: the person signed in on this browser, their device id and tokens. */
interface WorkerSession {
  person: DevicePerson;
  deviceId: string;
  /** The same stored session the tabs use: refreshed under the same lock, by whichever needs it first. */
  tokens: TokenSession;
}

/**
 * A sync that did not finish for a reason that may pass (no network, the server down or busy):
 * rejecting the sync event makes the browser wake the worker again later.
 */
export class BackgroundSyncFailed extends Error {
  override readonly name = 'BackgroundSyncFailed';
}

/**
 * How long the worker waits for the page holding the records to say how its sync ended. A page
 * that does not answer is closing, frozen in the background, or of an older version.
 */
const pageAnswerMs = 30_000;

/**
 * How often the worker looks, while it syncs, for a tab waiting to open the records; and, while it
 * asks the open pages to sync, whether the one holding them has let them go.
 */
const watchTabsMs = 250;

/** The worker's own sync under way: a second wake-up meanwhile joins it. */
let running: Promise<void> | null = null;

/**
 * Background Sync woke the worker: a connection is back, or the server may answer again, and
 * changes waited. Whoever holds the device's database syncs it (one holder at a time, decision
 * 0019). Free, the worker opens the same sync client the page opens, runs one sync and closes it,
 * so changes made before the tab was closed do not wait for the app's next opening. Held, the
 * open page of the app is asked to sync, and the event ends as its sync did: a failure that may
 * pass leaves the registration for another wake-up, by when the tab may be closed.
 */
export function onBackgroundSync(scope: ServiceWorkerGlobalScope): Promise<void> {
  running ??= wake(scope).finally(() => {
    running = null;
  });
  return running;
}

async function wake(scope: ServiceWorkerGlobalScope): Promise<void> {
  // Nobody signed in (or a session that can no longer be used): nothing may leave as anyone from
  // here. An open page may still sync, if asked.
  const session = await signedIn();
  // "Sync automatically" off: the person syncs with "Sync now" alone, and this wake-up is
  // automatic network use. Nothing is sent, and the browser is not asked to try again.
  if (session !== null && !(await automaticSyncChosen(session.person))) return;
  if (session !== null) {
    const own = await syncIfFree(session);
    if (own !== 'held') return settle(own);
  }
  const answer = await askOpenPages(scope, session === null ? null : deviceDatabaseName(session.person));
  if (answer === 'no-answer' && session !== null) {
    // The page holding the records did not answer, or let them go while asked: closing, perhaps,
    // and gone by now.
    const own = await syncIfFree(session);
    if (own !== 'held') return settle(own);
  }
  if (session === null && typeof answer === 'string') return;
  if (answer === 'no-page' || answer === 'no-answer')
    // Held, with no page of the app to answer: a tab being torn down or an older worker still
    // syncing. It syncs; if it was a tab closing, the browser's next wake-up finds the lock free.
    throw new BackgroundSyncFailed('another tab or worker has the records open');
  if (answer.ok || answer.code === autoSyncOff) return;
  // The page's client closed meanwhile (a sign-out, the tab going): the worker's next wake-up sees.
  if (answer.code === 'CLIENT_CLOSED' || mayPass(answer.code))
    throw new BackgroundSyncFailed(`the open page's sync did not finish (${answer.code})`);
  // A refusal: the page says so and asks the person (their password again after a 401).
}

/**
 * The session the worker may sync with, read from the storage the tabs share, or null: nobody
 * signed in, or a session that cannot be renewed (its refresh token was refused, or the previous
 * version kept it without one) and whose token has expired by this device's clock: the server would
 * refuse it. An access token that expired with a refresh token held is what the worker renews.
 */
async function signedIn(now: number = Date.now()): Promise<WorkerSession | null> {
  const stored = await readStoredSession();
  const person = stored === null ? null : personOf(stored);
  if (stored === null || person === null || typeof stored.deviceId !== 'string') return null;
  const renewable =
    stored.refreshToken !== undefined &&
    (stored.refreshExpiresAt === undefined || Date.parse(stored.refreshExpiresAt) > now);
  if (!renewable && !(Date.parse(stored.expiresAt) > now)) return null;
  const tokens = clinicTokenSession({
    owner: person,
    deviceId: stored.deviceId,
    ...(stored.email !== undefined ? { email: stored.email } : {}),
  });
  return { person, deviceId: stored.deviceId, tokens };
}

/** The person's "Sync automatically" (on unless they turned it off); on when it cannot be read. */
function automaticSyncChosen(person: DevicePerson): Promise<boolean> {
  return readAutoSyncChoice(person).catch(() => true);
}

/**
 * The worker's own sync under the database's lock, taken without waiting, and its marker lock
 * beside it; 'held' when a tab (or an older worker) has the records. 'handed-over' when a tab
 * opening meanwhile was given the records once the changes waiting had gone.
 */
async function syncIfFree(session: WorkerSession): Promise<SyncResult | 'held' | 'handed-over' | 'refused'> {
  const name = deviceDatabaseName(session.person);
  return await navigator.locks.request(indexedDbStoreLock(name), { ifAvailable: true }, async (lock) => {
    if (lock === null) return 'held';
    // Told to a tab that opens meanwhile and waits for the database: it says what it waits for.
    // A good sync's time is kept by the client in the device's store before the sync resolves, so
    // a tab that waited for the lock reads it ("Last synced") as it opens (decision 0033).
    return navigator.locks.request(backgroundSyncLock(name), () => syncOnce(session, name));
  });
}

function settle(result: SyncResult | 'handed-over' | 'refused'): void {
  // A tab took the records over: it syncs as it opens. Refused the key to the records: the session
  // ended, and the changes wait for the person's password in the app.
  if (result === 'handed-over' || result === 'refused' || result.success || result.error === undefined)
    return;
  // Refused (UNAUTHORIZED): the session could not be renewed, and the token session has stored it
  // without its refresh token, which no context sends again. Another try would be refused alike:
  // the event ends, and the changes wait for the app, which asks for the password. The stored
  // session is left as it is: it is the tabs' too.
  if (mayPass(result.error.code)) throw new BackgroundSyncFailed(result.error.message);
}

/**
 * One sync of the device by the worker, on the client the page would open, with nothing left
 * running after it. A tab opened meanwhile waits for the database; once the changes waiting have
 * gone (the push answered), the worker stops and lets it have the records rather than keep the
 * person looking at a wait through the pull and the photos, which the tab's own sync does next.
 * Stopped, the client drops the request under way; a pull page or a photo's chunk not stored is
 * asked for or sent again by the tab.
 */
async function syncOnce(
  session: WorkerSession,
  name: string,
): Promise<SyncResult | 'handed-over' | 'refused'> {
  const recordsKey = await recordsKeyOf(session);
  if (recordsKey === 'refused') return 'refused';
  const client = await createSyncClient({
    // This worker holds the database's lock already; the store must not wait for it again.
    ...deviceClientOptions(session.person, session.deviceId, session.tokens, { locks: null }, recordsKey),
    // One sync and done: no timers, live stream or network probes to outlive the event.
    autoSync: false,
    probeIntervalMs: false,
  });
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= client.close());
  // The person's changes are on the server (or there were none): what is left, the pull and the
  // photos, the tab's own sync does as it opens, as well as the worker would.
  const changesGone = () => {
    const { pending, inFlight } = client.queue.stats();
    return pending + inFlight === 0;
  };
  let handedOver = false;
  const watch = setInterval(() => {
    if (closing !== null || !changesGone()) return;
    void tabWaitingFor(name).then((waiting) => {
      if (!waiting || closing !== null) return;
      handedOver = true;
      void close();
    });
  }, watchTabsMs);
  try {
    const result = await client.sync();
    return handedOver ? 'handed-over' : result;
  } finally {
    clearInterval(watch);
    await close();
  }
}

/**
 * The key to the person's records when they are encrypted (decision 0054): the server's (or theirs
 * kept under it, when the server hands another), for the session the tabs share, asked at each sync
 * and kept only for it. A sync needs the server anyway, so
 * the worker never needs the password; with the session ended, it has neither, and stops.
 */
async function recordsKeyOf(session: WorkerSession): Promise<string | null | 'refused'> {
  if (!(await recordsEncrypted(session.person))) return null;
  try {
    return (await recordsKeyFromServer(session.person, session.tokens)).recordsKey;
  } catch (err) {
    if (err instanceof RecordsKeyRefused) return 'refused';
    throw new BackgroundSyncFailed(`the key to the records could not be had: ${String(err)}`);
  }
}

/** Whether a tab asks for the database's lock: it opens as soon as the worker lets it go. */
async function tabWaitingFor(name: string): Promise<boolean> {
  const { pending = [] } = await navigator.locks.query();
  return pending.some((request) => request.name === indexedDbStoreLock(name));
}

/** Whether anyone (a tab, an older worker) holds the database's lock. */
async function recordsHeld(name: string): Promise<boolean> {
  const { held = [] } = await navigator.locks.query();
  return held.some((lock) => lock.name === indexedDbStoreLock(name));
}

/**
 * Asks the open pages of the app to sync, and resolves with the answer of the one holding the
 * records (the others, waiting for them or signed out, do not answer): 'no-page' when none is
 * open, 'no-answer' when none answered in time, or when the database `name` is let go meanwhile.
 * A tab closed while asked never answers: the worker sees its hold go and syncs itself, rather
 * than keep the wake-up (and any other joining it) waiting the whole time for the answer.
 */
async function askOpenPages(
  scope: ServiceWorkerGlobalScope,
  name: string | null,
): Promise<SyncAnswer | 'no-page' | 'no-answer'> {
  // Uncontrolled pages too (a hard reload): they hold the database all the same.
  const pages = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (pages.length === 0) return 'no-page';
  return new Promise((resolve) => {
    const channels: MessageChannel[] = [];
    const finish = (answer: SyncAnswer | 'no-answer') => {
      clearTimeout(timer);
      clearInterval(watch);
      for (const channel of channels) channel.port1.close();
      resolve(answer);
    };
    const timer = setTimeout(() => finish('no-answer'), pageAnswerMs);
    const watch =
      name === null
        ? undefined
        : setInterval(() => {
            void recordsHeld(name).then((held) => {
              if (!held) finish('no-answer');
            });
          }, watchTabsMs);
    const message: SyncRequestMessage = { type: backgroundSyncTag };
    for (const page of pages) {
      const channel = new MessageChannel();
      channel.port1.onmessage = (event: MessageEvent<SyncAnswer>) => finish(event.data);
      channels.push(channel);
      page.postMessage(message, [channel.port2]);
    }
  });
}
