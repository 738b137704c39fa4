// `npm run bench [-- --ops N] [--runs R] [--json FILE] [--only NAME]`: every benchmark (or the ones
// named) on SQLite and on a throwaway PostgreSQL, printed as one table; PostgreSQL is started only when
// a chosen benchmark uses a database. Exits non-zero only when something could not be measured (setup
// failed, a result was wrong); a ratio under its target is a finding to read, not a crash.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { startPostgres } from '../packages/server/test/postgres-harness';
import type { RunningPostgres } from '../packages/server/test/postgres-harness';
import { postgresDriver, sqliteDriver } from './drivers';
import type { Driver } from './drivers';
import { formatTable, passes, writeJson } from './report';
import type { BenchRow, Benchmark } from './report';
import { clientBudgets } from './client-sync';
import { clinicInitialSync } from './clinic-initial-sync';
import { conflictEngine } from './conflict-engine';
import { syncThroughput } from './sync-throughput';

/** Later benchmarks add themselves here; their rows land in the same table and JSON array. */
const benchmarks: readonly Benchmark[] = [syncThroughput, conflictEngine, clientBudgets, clinicInitialSync];
/** Benchmarks that use no database: running only these starts no PostgreSQL. */
const databaseFree: ReadonlySet<Benchmark> = new Set([conflictEngine, clientBudgets, clinicInitialSync]);

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

const usage = `usage: npm run bench [-- --ops N] [--runs R] [--json FILE] [--only NAME ...]
  --ops N      items per measurement (default ${defaultOps.toLocaleString('en-US')})
  --runs R     measured rounds, the median is reported (default ${defaultRuns})
  --json FILE  also write the rows as JSON
  --only NAME  run only this benchmark; may be repeated. Benchmarks: ${benchmarks.map((b) => b.name).join(', ')}`;

function readOptions() {
  const { values } = parseArgs({
    options: {
      ops: { type: 'string' },
      runs: { type: 'string' },
      json: { type: 'string' },
      only: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const ops = positiveInt(values.ops ?? String(defaultOps), '--ops');
  const only = values.only ?? [];
  const unknown = only.filter((name) => !benchmarks.some((b) => b.name === name));
  if (unknown.length > 0) throw new Error(`--only: no benchmark named ${unknown.join(', ')}\n${usage}`);
  return {
    ops,
    runs: positiveInt(values.runs ?? String(defaultRuns), '--runs'),
    warmupOps: Math.min(warmupOps, ops),
    json: values.json,
    selected: only.length === 0 ? benchmarks : benchmarks.filter((b) => only.includes(b.name)),
    help: values.help ?? false,
  };
}

// Progress goes to stderr so stdout holds only the table.
const log = (line: string) => console.error(`[bench] ${line}`);

async function main(): Promise<void> {
  const { selected, help, ...options } = readOptions();
  if (help) {
    console.log(usage);
    return;
  }
  log(
    `${options.ops.toLocaleString('en-US')} ops per measurement, warm-up ${options.warmupOps.toLocaleString('en-US')}, ` +
      `median of ${options.runs}; node ${process.version}, ${cpus().length} cpus`,
  );
  // Ctrl-C: exit through process.exit so the harness's and the SQLite driver's exit hooks clean up.
  process.once('SIGINT', () => process.exit(130));

  const sqlite = sqliteDriver();
  let postgres: RunningPostgres | undefined;
  try {
    const drivers: Driver[] = [sqlite];
    if (selected.some((b) => !databaseFree.has(b))) {
      log('starting PostgreSQL');
      postgres = await startPostgres({ log });
      drivers.push(postgresDriver(postgres.url));
    }
    const context = { ...options, drivers, log };
    const rows: BenchRow[] = [];
    for (const benchmark of selected) {
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
