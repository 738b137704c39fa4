/**
 * `npm run sim -- --seeds N --from S [--steps K] [--no-live] [--no-filters] [--trace] [--json FILE]`: runs seeds S..S+N-1,
 * prints the figures (seeds, faults injected of each kind, violations) and, for every failing
 * seed, the command that replays it. Exit code 1 when any seed failed.
 */
import { writeFileSync } from 'node:fs';
import { faultKinds } from './network';
import { Figures } from './figures';
import { replayCommand } from './replay';
import { defaultSteps, runSeed } from './world';

interface Args {
  seeds: number;
  from: number;
  steps: number;
  trace: boolean;
  json: string | null;
  quiet: boolean;
  /** False: no device keeps a live stream, as runs were before live updates (the regression seeds). */
  live: boolean;
  /** False: no device keeps a record filter, as runs were before filters (the regression seeds). */
  filters: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    seeds: 10_000,
    from: 1,
    steps: defaultSteps,
    trace: false,
    json: null,
    quiet: false,
    live: true,
    filters: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const count = (v: string) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} takes a whole number, got ${v}`);
      return n;
    };
    if (flag === '--seeds') args.seeds = count(value());
    else if (flag === '--from' || flag === '--seed') args.from = count(value());
    else if (flag === '--steps') args.steps = count(value());
    else if (flag === '--trace') args.trace = true;
    else if (flag === '--json') args.json = value();
    else if (flag === '--quiet') args.quiet = true;
    else if (flag === '--no-live') args.live = false;
    else if (flag === '--no-filters') args.filters = false;
    else
      throw new Error(
        `unknown option ${flag}: use --seeds N --from S [--steps K] [--no-live] [--no-filters] [--trace] [--json FILE] [--quiet]`,
      );
  }
  if (argv.includes('--seed') && !argv.includes('--seeds')) args.seeds = 1;
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const figures = new Figures();
  const began = performance.now();
  let lastReport = began;
  for (let seed = args.from; seed < args.from + args.seeds; seed++) {
    const report = await runSeed({
      seed,
      steps: args.steps,
      keepTrace: args.trace,
      live: args.live,
      filters: args.filters,
    });
    figures.add(report);
    if (args.trace && report.trace) for (const l of report.trace) console.log(l);
    if (report.violations.length > 0) {
      console.log(`seed ${seed} FAILED (trace ${report.traceHash}):`);
      for (const v of report.violations.slice(0, 20)) console.log(`  [${v.invariant}] ${v.message}`);
      if (report.violations.length > 20) console.log(`  ... and ${report.violations.length - 20} more`);
      console.log(`  replay: ${replayCommand(seed, args.steps, args.live, args.filters)}`);
    } else if (args.seeds === 1) {
      console.log(`seed ${seed} passed (trace ${report.traceHash})`);
    }
    if (!args.quiet && performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      console.log(
        `... ${figures.seeds} seeds, ${figures.failedSeeds.length} failing, ${((lastReport - began) / 1000).toFixed(0)} s`,
      );
    }
  }
  const seconds = (performance.now() - began) / 1000;
  console.log(figures.summary(seconds, faultKinds));
  if (args.json) writeFileSync(args.json, JSON.stringify(figures.toJSON(seconds), null, 2));
  process.exitCode = figures.failedSeeds.length > 0 ? 1 : 0;
}

await main();
