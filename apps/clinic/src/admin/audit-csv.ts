// "Save as CSV" on the Audit log page: the events the filters select, as an RFC 4180 file a
// spreadsheet opens, in the page's words. The audit log holds no record contents, and neither does
// the file: who, which device, what happened, to which kind of record and id, and what came of it.
import type { AuditLogEvent, AuditResponse } from '@outpost/core';
import { eventWords, personWords, subjectWords } from './audit-words';

/**
 * The file's columns: the page's, with the device's name and the record's id apart and the server's
 * outcome code. A name is the clinic's (decision 0056), as the server answered it when the file was
 * made: a device renamed since is in the file by its name of then.
 */
export const auditCsvColumns = [
  'When (UTC)',
  'Person',
  'Device',
  'Device name',
  'What happened',
  'About',
  'Record id',
  'Outcome',
] as const;

/** How many events one file holds at most: the newest, when the filters select more. */
export const auditCsvCap = 10_000;

/** The server's largest page: ten requests fill a file. */
const pageSize = 1000;

/**
 * One cell. A text a spreadsheet would take for a formula (it starts with =, +, -, @, a tab or a
 * carriage return: a device id or an email is typed by someone) gets a ' in front, as OWASP
 * advises, so it shows as text. Then RFC 4180: a cell holding a comma, a double quote, CR or LF is
 * quoted, its quotes doubled.
 */
export function csvCell(text: string): string {
  const guarded = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

/** Lines end in CRLF, the last one too (RFC 4180). */
export function csvText(rows: ReadonlyArray<readonly string[]>): string {
  return rows.map((row) => `${row.map(csvCell).join(',')}\r\n`).join('');
}

/** The time as UTC ISO text (`2026-11-24T01:05:00.000Z`); as the server wrote it if it reads as no time. */
function utc(at: string): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? at : new Date(ms).toISOString();
}

/** One event as the file's row, in `auditCsvColumns`' order; `names` are the devices' names by id. */
export function auditCsvRow(e: AuditLogEvent, names: ReadonlyMap<string, string> = new Map()): string[] {
  return [
    utc(e.at),
    personWords(e),
    e.deviceId ?? '',
    e.deviceId === null ? '' : (names.get(e.deviceId) ?? ''),
    eventWords(e),
    subjectWords(e),
    e.recordId ?? '',
    e.outcome,
  ];
}

/** The whole file: a header row, then one row per event, in the order given (newest first). */
export function auditCsv(
  events: readonly AuditLogEvent[],
  names: ReadonlyMap<string, string> = new Map(),
): string {
  return csvText([[...auditCsvColumns], ...events.map((e) => auditCsvRow(e, names))]);
}

/** `outpost-audit-clinic-a-2026-11-24.csv`; what a file name cannot hold in the clinic's id becomes -. */
export function auditCsvFileName(clinic: string, day: string): string {
  return `outpost-audit-${clinic.replace(/[^A-Za-z0-9._-]/g, '-')}-${day}.csv`;
}

/**
 * Every event `page` lists, following the server's cursor page after page, up to `cap`: the newest
 * `cap` and `capped` true when more remain. `page` asks for the filters in effect, `limit` at a time.
 */
export async function collectAuditEvents(
  page: (cursor: string | null, limit: number) => Promise<AuditResponse>,
  cap: number = auditCsvCap,
  onProgress?: (fetched: number) => void,
): Promise<{ events: AuditLogEvent[]; capped: boolean }> {
  const events: AuditLogEvent[] = [];
  let cursor: string | null = null;
  do {
    const answer: AuditResponse = await page(cursor, Math.min(pageSize, cap - events.length));
    events.push(...answer.events);
    cursor = answer.nextCursor;
    onProgress?.(Math.min(events.length, cap));
  } while (cursor !== null && events.length < cap);
  return { events: events.slice(0, cap), capped: cursor !== null || events.length > cap };
}
