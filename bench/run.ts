// `npm run bench [-- --ops N] [--runs R] [--json FILE]`: every benchmark on SQLite and on a throwaway
// PostgreSQL, printed as one table. Exits non-zero only when something could not be measured (setup
// failed, a result was wrong); a ratio under its target is a finding to read, not a crash.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { startPostgres } from '../packages/server/test/postgres-harness';
import type { RunningPostgres } from '../packages/server/test/postgres-harness';
import { postgresDriver, sqliteDriver } from './drivers';
import { formatTable, passes, writeJson } from './report';
import type { BenchRow, Benchmark } from './report';
import { syncThroughput } from './sync-throughput';

/** Later benchmarks add themselves here; their rows land in the same table and JSON array. */
const benchmarks: readonly Benchmark[] = [syncThroughput];

const defaultOps = 20_000;
const defaultRuns = 5;
const warmupOps = 2_000;

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(`${flag} needs a positive whole number, got "${text}"`);
  }
  return n;
}

function readOptions() {
  const { values } = parseArgs({
    options: { ops: { type: 'string' }, runs: { type: 'string' }, json: { type: 'string' } },
    strict: true,
  });
  const ops = positiveInt(values.ops ?? String(defaultOps), '--ops');
  return {
    ops,
    runs: positiveInt(values.runs ?? String(defaultRuns), '--runs'),
    warmupOps: Math.min(warmupOps, ops),
    json: values.json,
  };
}

// Progress goes to stderr so stdout holds only the table.
const log = (line: string) => console.error(`[bench] ${line}`);

async function main(): Promise<void> {
  const options = readOptions();
  log(
    `${options.ops.toLocaleString('en-US')} ops per measurement, warm-up ${options.warmupOps.toLocaleString('en-US')}, ` +
      `median of ${options.runs}; node ${process.version}, ${cpus().length} cpus`,
  );
  // Ctrl-C: exit through process.exit so the harness's and the SQLite driver's exit hooks clean up.
  process.once('SIGINT', () => process.exit(130));

  const sqlite = sqliteDriver();
  let postgres: RunningPostgres | undefined;
  try {
    log('starting PostgreSQL');
    postgres = await startPostgres({ log });
    const context = { ...options, drivers: [sqlite, postgresDriver(postgres.url)], log };
    const rows: BenchRow[] = [];
    for (const benchmark of benchmarks) {
      log(`== ${benchmark.name}`);
      rows.push(...(await benchmark.run(context)));
    }

    console.log(formatTable(rows));
    const misses = rows.filter((r) => !passes(r));
    console.log(
      misses.length === 0
        ? '\nall targets met'
        : `\n${misses.length} of ${rows.length} below target: ${misses.map((r) => r.name).join(', ')}`,
    );
    if (options.json !== undefined) {
      await writeJson(options.json, rows);
      log(`wrote ${options.json}`);
    }
  } finally {
    await sqlite.dispose();
    await postgres?.stop();
  }
}

main().catch((error: unknown) => {
  console.error('[bench] failed:', error);
  process.exitCode = 1;
});
