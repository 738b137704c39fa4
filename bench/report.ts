// What every benchmark reports, and how a run's rows are printed and saved.
import { writeFile } from 'node:fs/promises';
import type { Driver } from './drivers';

/**
 * One measured number against its baseline. Rows are higher-is-better rates, and `target` is the
 * least acceptable value / baseline; a benchmark of a cost (latency, bytes) should report its
 * inverse (requests/s, records/MB) so the same rule holds. This is the shape of the --json file.
 */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  target: number;
}

export interface BenchContext {
  /** Items per measurement (--ops). */
  ops: number;
  /** Measured repetitions; the median is reported. */
  runs: number;
  /** Items in the discarded warm-up measurement. */
  warmupOps: number;
  drivers: readonly Driver[];
  log(line: string): void;
}

/** A benchmark adds itself to the list in run.ts and returns its rows; a thrown error fails the run. */
export interface Benchmark {
  name: string;
  run(context: BenchContext): Promise<BenchRow[]>;
}

/** `ratio` defaults to value / baseline; a benchmark that pairs its rounds may pass its own (see sync throughput). */
export function row(
  name: string,
  unit: string,
  value: number,
  baseline: number,
  target: number,
  ratio = value / baseline,
): BenchRow {
  return {
    name,
    value: Math.round(value),
    unit,
    baseline: Math.round(baseline),
    ratio: Math.round(ratio * 1000) / 1000,
    target,
  };
}

export function passes(r: BenchRow): boolean {
  return r.ratio >= r.target;
}

const rate = (value: number, unit: string) => `${value.toLocaleString('en-US')} ${unit}`;

export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['name', 'ours', 'raw', 'ratio ours/raw', 'target', 'result'];
  const body = rows.map((r) => [
    r.name,
    rate(r.value, r.unit),
    rate(r.baseline, r.unit),
    r.ratio.toFixed(2),
    `>= ${r.target.toFixed(2)}`,
    passes(r) ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] ?? '').length)));
  // Names left-aligned, numbers right-aligned so their magnitudes line up.
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ');
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [line(header), rule, ...body.map(line)].join('\n');
}

export async function writeJson(file: string, rows: readonly BenchRow[]): Promise<void> {
  await writeFile(file, `${JSON.stringify(rows, null, 2)}\n`);
}
