// "Save as CSV" on the Audit log page, its pure part (no browser): RFC 4180 quoting, the guard
// against a cell a spreadsheet would run as a formula, the columns and words, the file's name, and
// the walk through the server's pages up to the cap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditLogEvent, AuditResponse } from '@outpost/core';
import {
  auditCsv,
  auditCsvColumns,
  auditCsvFileName,
  auditCsvRow,
  collectAuditEvents,
  csvCell,
  csvText,
} from '../src/admin/audit-csv';

/** An RFC 4180 reader, as a spreadsheet reads the file: rows of cells, CRLF between rows. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) throw new Error('the text does not end with CRLF');
  return rows;
}

const event = (over: Partial<AuditLogEvent>): AuditLogEvent => ({
  at: '2026-11-24T01:05:00.000Z',
  userId: 'u-nurse',
  email: 'nurse@clinic-a.test',
  deviceId: 'tablet-1',
  action: 'push-op',
  collection: 'patients',
  recordId: 'p-1',
  route: null,
  outcome: 'applied',
  ...over,
});

describe('csvCell', () => {
  it('leaves a plain cell as it is', () => {
    expect(csvCell('nurse@clinic-a.test')).toBe('nurse@clinic-a.test');
    expect(csvCell('Change applied')).toBe('Change applied');
    expect(csvCell('')).toBe('');
  });

  it('quotes a cell holding a comma, a quote, CR or LF, and doubles its quotes (RFC 4180)', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('asked "merge"')).toBe('"asked ""merge"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvCell('a\rb')).toBe('"a\rb"');
  });

  it('puts a quote mark before a cell a spreadsheet would take for a formula (OWASP)', () => {
    expect(csvCell('=HYPERLINK("http://x.test","click")')).toBe(
      '"\'=HYPERLINK(""http://x.test"",""click"")"',
    );
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('\r=1')).toBe('"\'\r=1"');
    // Only the first character counts: a formula sign inside is text already.
    expect(csvCell('a=1')).toBe('a=1');
    expect(csvCell('tablet-1')).toBe('tablet-1');
  });

  it('reads back as the cells written, guarded, whatever they hold', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 6 })),
        (rows) => {
          const guarded = rows.map((row) =>
            row.map((cell) => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell)),
          );
          expect(readCsv(csvText(rows))).toEqual(guarded);
        },
      ),
    );
  });
});

describe('the audit file', () => {
  it("has a header row and one row per event in the page's words, each line ending in CRLF", () => {
    const text = auditCsv([
      event({ opId: 'op-2', opType: 'update', at: '2026-11-24T03:05:00+02:00' }),
      event({ opId: 'op-1', opType: 'create', outcome: 'rejected:VALIDATION_FAILED' }),
    ]);
    expect(text.split('\r\n')).toEqual([
      'When (UTC),Person,Device,Device name,What happened,About,Record id,Outcome',
      '2026-11-24T01:05:00.000Z,nurse@clinic-a.test,tablet-1,,Change applied,Edit of patient,p-1,applied',
      '2026-11-24T01:05:00.000Z,nurse@clinic-a.test,tablet-1,,Change refused: not valid,New patient,p-1,rejected:VALIDATION_FAILED',
      '',
    ]);
    expect(readCsv(text)[0]).toEqual([...auditCsvColumns]);
  });

  it('names who, the device and the route as the page does, and leaves empty what the event has not', () => {
    expect(
      auditCsvRow(
        event({
          seq: 7,
          action: 'refused',
          collection: null,
          recordId: null,
          route: 'GET /v1/audit',
          outcome: 'forbidden',
        }),
      ),
    ).toEqual([
      '2026-11-24T01:05:00.000Z',
      'nurse@clinic-a.test',
      'tablet-1',
      '',
      'Request refused: not allowed',
      'GET /v1/audit',
      '',
      'forbidden',
    ]);
    expect(
      auditCsvRow(
        event({
          seq: 8,
          action: 'file-delete',
          userId: null,
          email: null,
          deviceId: null,
          outcome: 'purged',
        }),
      ).slice(1, 5),
    ).toEqual(['the server', '', '', 'File removed with its deleted record']);
    // A person no longer stored: their id, as on the page.
    expect(auditCsvRow(event({ email: null }))[1]).toBe('u-nurse');
  });

  it("guards a device id typed as a formula, and keeps the words' commas and quotes as text", () => {
    const text = auditCsv([
      event({ seq: 9, action: 'override-ignored', deviceId: '=cmd|" /C calc"!A0', outcome: 'client-wins' }),
    ]);
    const [, row] = readCsv(text);
    expect(row?.[2]).toBe('\'=cmd|" /C calc"!A0');
    expect(row?.[4]).toBe('Override not allowed: asked “my change wins”, settled by the usual rule');
  });

  it("names each device as the clinic named it, its id beside, and a naming's device as its subject", () => {
    const names = new Map([
      ['tablet-1', 'Ward 2 tablet'],
      ['tablet-2', '=Outreach, "van"'],
    ]);
    const text = auditCsv(
      [
        event({
          seq: 10,
          action: 'device-named',
          deviceId: null,
          collection: null,
          recordId: 'tablet-2',
          outcome: 'renamed',
        }),
        event({ opId: 'op-3', opType: 'create' }),
      ],
      names,
    );
    const [, naming, change] = readCsv(text);
    expect(naming?.slice(2, 7)).toEqual(['', '', 'Device renamed', 'Device', 'tablet-2']);
    expect(change?.slice(2, 5)).toEqual(['tablet-1', 'Ward 2 tablet', 'Change applied']);
    // A name is typed by someone: guarded as a device id is.
    expect(auditCsvRow(event({ deviceId: 'tablet-2' }), names)[3]).toBe('=Outreach, "van"');
    expect(readCsv(auditCsv([event({ deviceId: 'tablet-2' })], names))[1]?.[3]).toBe('\'=Outreach, "van"');
  });

  it('is named after the clinic and the day, with what a file name cannot hold replaced', () => {
    expect(auditCsvFileName('clinic-a', '2026-11-24')).toBe('outpost-audit-clinic-a-2026-11-24.csv');
    expect(auditCsvFileName('north/south clinic', '2026-11-24')).toBe(
      'outpost-audit-north-south-clinic-2026-11-24.csv',
    );
  });
});

describe('collectAuditEvents', () => {
  /** A server holding `total` events, newest first, answering pages of at most `limit` by an offset cursor. */
  function server(total: number) {
    const asked: Array<{ cursor: string | null; limit: number }> = [];
    const page = (cursor: string | null, limit: number): Promise<AuditResponse> => {
      asked.push({ cursor, limit });
      const start = cursor === null ? 0 : Number(cursor);
      const end = Math.min(start + limit, total);
      const events = Array.from({ length: end - start }, (_, i) => event({ seq: total - start - i }));
      return Promise.resolve({ events, nextCursor: end < total ? String(end) : null });
    };
    return { page, asked };
  }

  it('follows the cursor to the last page, a thousand at a time', async () => {
    const { page, asked } = server(2500);
    const progress: number[] = [];
    const { events, capped } = await collectAuditEvents(page, 10_000, (n) => progress.push(n));
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 2500 }, (_, i) => 2500 - i));
    expect(capped).toBe(false);
    expect(asked).toEqual([
      { cursor: null, limit: 1000 },
      { cursor: '1000', limit: 1000 },
      { cursor: '2000', limit: 1000 },
    ]);
    expect(progress).toEqual([1000, 2000, 2500]);
  });

  it('stops at the cap with the newest events, and says more remain', async () => {
    const { page, asked } = server(2600);
    const { events, capped } = await collectAuditEvents(page, 1500);
    expect(events).toHaveLength(1500);
    expect(events[0]?.seq).toBe(2600);
    expect(capped).toBe(true);
    expect(asked.map((a) => a.limit)).toEqual([1000, 500]);
  });

  it('is not capped when the events fill it exactly', async () => {
    const { page } = server(1500);
    expect((await collectAuditEvents(page, 1500)).capped).toBe(false);
    expect((await collectAuditEvents(server(0).page, 1500)).events).toEqual([]);
  });
});
