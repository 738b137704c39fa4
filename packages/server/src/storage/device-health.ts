import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { DatabaseKind } from './database';
import type { Tables } from './tables';

// A device's recent ops as `GET /v1/sync/stats/devices` reports them (decision 0036): how many the
// server received since a time, how many of those failed or met a conflict, and how long they
// waited between being made on the device and arriving. In SQL on both databases, reading only
// the window's journal rows (ops_by_time) and handing back a few rows per device, never the ops.

/** The recent figures of one device of a tenant. */
export interface RecentDeviceOps {
  userId: string;
  deviceId: string;
  /** Ops received since the window's start (each once: a resend is not journaled again). */
  total: number;
  failed: number;
  conflicts: number;
  /** Over the window's ops that came with a device HLC; null when none did. */
  delay: { medianMs: number; maxMs: number; measured: number } | null;
}

/**
 * Milliseconds between an op's HLC wall time (the device's clock when it made the change) and its
 * arrival, per journal row, or 0 when that is negative (the device's clock ran ahead of the
 * server's): the HLC text starts with 15 digits of milliseconds, received_at is an ISO time in UTC.
 * The expression appears once, so each row's time is parsed once.
 */
function clampedDelay(kind: DatabaseKind) {
  return kind === 'sqlite'
    ? sql<number>`max(cast(round((julianday(received_at) - 2440587.5) * 86400000.0) as integer)
        - cast(substr(hlc, 1, 15) as integer), 0)`
    : // date_part, not extract: a double, not a numeric (half the cost), and exact to the ms here.
      sql<string>`greatest((date_part('epoch', received_at::timestamptz) * 1000)::int8
        - substr(hlc, 1, 15)::int8, 0)`;
}

/** Each device's ops received in `tenant` at or after `since` (an ISO time), with their delays. */
export async function recentDeviceOps(
  db: Kysely<Tables>,
  kind: DatabaseKind,
  tenant: string,
  since: string,
): Promise<RecentDeviceOps[]> {
  // One read of the window's rows, one sort. The median without a median function (SQLite has
  // none): each device's delays numbered in order (those without one last), and the middle one
  // or two kept (m measured: rows (m+1)/2 and (m+2)/2, the same row when m is odd); row 1 too,
  // which carries the counts of a device none of whose ops was measured. A clock ahead of the
  // server's gives a negative delay: it counts as 0, the least it can have been. Materialized, so
  // that PostgreSQL does not inline the delay into each place the rows are sorted and counted by.
  const rows = await sql<{
    user_id: string;
    device_id: string;
    rn: number | string;
    delay_ms: number | string | null;
    total: number | string;
    failed: number | string;
    conflicts: number | string;
    measured: number | string;
    max_ms: number | string | null;
  }>`with window_ops as materialized (
      select user_id, device_id, status,
        case when hlc is null then null else ${clampedDelay(kind)} end as delay_ms
      from ops where tenant = ${tenant} and received_at >= ${since}
    ), numbered as (
      select user_id, device_id, delay_ms,
        row_number() over (partition by user_id, device_id order by delay_ms nulls last) as rn,
        count(*) over device as total,
        sum(case when status = 'rejected' then 1 else 0 end) over device as failed,
        sum(case when status = 'conflict' then 1 else 0 end) over device as conflicts,
        count(delay_ms) over device as measured,
        max(delay_ms) over device as max_ms
      from window_ops
      window device as (partition by user_id, device_id)
    )
    select user_id, device_id, rn, delay_ms, total, failed, conflicts, measured, max_ms from numbered
    where rn = 1 or rn = (measured + 1) / 2 or rn = (measured + 2) / 2`.execute(db);

  const byDevice = new Map<string, { figures: RecentDeviceOps; middle: number[]; measured: number }>();
  for (const row of rows.rows) {
    const key = `${row.user_id}\u0000${row.device_id}`;
    let found = byDevice.get(key);
    if (!found) {
      const figures: RecentDeviceOps = {
        userId: row.user_id,
        deviceId: row.device_id,
        total: Number(row.total),
        failed: Number(row.failed),
        conflicts: Number(row.conflicts),
        delay: null,
      };
      const measured = Number(row.measured);
      if (measured > 0) figures.delay = { medianMs: 0, maxMs: Number(row.max_ms), measured };
      found = { figures, middle: [], measured };
      byDevice.set(key, found);
    }
    if (row.delay_ms === null) continue;
    // Row 1 of a device with one or two measured ops is also a middle one: counted once per rank.
    const rn = Number(row.rn);
    const lower = Math.floor((found.measured + 1) / 2);
    const upper = Math.floor((found.measured + 2) / 2);
    if (rn === lower) found.middle.push(Number(row.delay_ms));
    if (rn === upper && upper !== lower) found.middle.push(Number(row.delay_ms));
  }
  return [...byDevice.values()].map(({ figures, middle }) => {
    if (figures.delay !== null && middle.length > 0)
      figures.delay.medianMs = Math.round(middle.reduce((a, b) => a + b, 0) / middle.length);
    return figures;
  });
}
