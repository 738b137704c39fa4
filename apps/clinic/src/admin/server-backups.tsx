import { useEffect, useState } from 'react';
import { backupStatusResponseSchema } from '@outpost/core';
import type { BackupFailureReason, BackupStatusResponse } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { Link } from '../router';
import { fetchJson } from '../server-json';
import { utcMinute } from '../sync-time';
import { plural, spokenDuration } from './needs-attention';

/** Why backups fail, as the person who has to mend it is told: what to look at first. */
const reasonWords: Readonly<Record<BackupFailureReason, string>> = {
  FOLDER_GONE:
    'the server cannot find its backup folder. Is the USB stick or backup disk plugged in, or the network share connected?',
  FOLDER_FULL: 'the disk of the backup folder is full. Make room on it, or give the server another one.',
  FOLDER_NOT_WRITABLE: 'the server may not write into its backup folder. Whoever runs the server can let it.',
  DATABASE_DAMAGED:
    'the copy of the clinic’s database failed its check, so the database itself may be damaged. Tell whoever runs the server today, and keep the backups you have.',
  OTHER: 'the server’s log says why. Tell whoever runs the server.',
};

/**
 * The server's own backups (decision 0049), for the people who would have to restore one: when the
 * last was taken and the next is due, and, while they fail, since when and what to look at. Only
 * what `GET /v1/admin/backups` says; a server that does not answer it (an older one) shows nothing.
 */
export function ServerBackups({ tokens }: { tokens: TokenSession }) {
  const status = useServerBackups(tokens);
  if (status === null) return null;
  return (
    <section aria-labelledby="backups-heading" className="needs-attention">
      <h2 id="backups-heading">Backups</h2>
      {status.scheduled ? <Scheduled status={status} /> : <NotScheduled />}
    </section>
  );
}

/** How often the header asks again while a page stays open: a stick pulled out shows within the hour. */
const askAgainMs = 15 * 60 * 1000;

/**
 * In the header of every page, for administrators: backups failing is not left for whoever next
 * opens Statistics. Nothing while they succeed, or while the server cannot be asked.
 */
export function BackupsFailingNotice({ tokens }: { tokens: TokenSession }) {
  const status = useServerBackups(tokens, askAgainMs);
  if (status === null || !status.scheduled || status.failing === null) return null;
  return (
    <p role="alert" className="backups-failing">
      The server’s backups have failed since {utcMinute(status.failing.since)} UTC.{' '}
      <Link href="/statistics">See Statistics</Link>
    </p>
  );
}

/**
 * `GET /v1/admin/backups`, one request for every component asking within a few seconds: the
 * header's notice and Statistics' section open together, and the server need not answer twice.
 */
function askServerBackups(tokens: TokenSession): Promise<BackupStatusResponse> {
  const now = Date.now();
  if (asked !== null && asked.tokens === tokens && now - asked.at < shareForMs) return asked.answer;
  const answer = fetchJson('/v1/admin/backups', tokens, (b) => backupStatusResponseSchema.parse(b));
  const made = { tokens, at: now, answer };
  asked = made;
  // A failure is not handed to whoever asks next.
  answer.catch(() => asked === made && (asked = null));
  return answer;
}
let asked: { tokens: TokenSession; at: number; answer: Promise<BackupStatusResponse> } | null = null;
const shareForMs = 5_000;

/** `GET /v1/admin/backups` while online, asked again every `everyMs` when given; null until answered. */
function useServerBackups(tokens: TokenSession, everyMs?: number): BackupStatusResponse | null {
  const { isOnline } = useNetworkStatus();
  const [status, setStatus] = useState<BackupStatusResponse | null>(null);
  useEffect(() => {
    if (!isOnline) return;
    let cancelled = false;
    const ask = () =>
      askServerBackups(tokens).then(
        (answer) => !cancelled && setStatus(answer),
        // An older server, or none to reach: the page says nothing of backups rather than fail.
        (err: unknown) => console.error('The server’s backups could not be read:', err),
      );
    void ask();
    const again = everyMs === undefined ? undefined : setInterval(() => void ask(), everyMs);
    return () => {
      cancelled = true;
      clearInterval(again);
    };
  }, [isOnline, tokens, everyMs]);
  return status;
}

function NotScheduled() {
  return (
    <p>
      This server takes no backups by itself. Ask whoever runs it how the clinic’s records are backed up, and
      when the last backup was taken.
    </p>
  );
}

function Scheduled({ status }: { status: Extract<BackupStatusResponse, { scheduled: true }> }) {
  const now = Date.parse(status.asOf);
  const last =
    status.lastBackupAt === null
      ? null
      : `${spokenDuration(now - Date.parse(status.lastBackupAt))} ago (${utcMinute(status.lastBackupAt)} UTC)`;
  const plan = `Every ${plural(status.everyHours, 'hour')}, the newest ${status.keep} kept, ${
    status.encrypted ? 'encrypted' : 'not encrypted'
  }.`;
  if (status.failing !== null) {
    return (
      <ul>
        <li className="critical" role="alert">
          <span className="severity">Urgent</span> Backups have failed since {utcMinute(status.failing.since)}{' '}
          UTC: {reasonWords[status.failing.reason]}{' '}
          {last === null
            ? 'No backup has been taken yet.'
            : `The last good backup was taken ${last}: what the clinic did since is in no backup.`}
        </li>
      </ul>
    );
  }
  return (
    <p className="all-normal">
      {last === null ? 'No backup has been taken yet.' : `Last backup ${last}.`} {plan}
      {status.nextAt !== null ? ` Next at ${utcMinute(status.nextAt)} UTC.` : ''}
    </p>
  );
}
