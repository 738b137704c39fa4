/** Runs a range of seeds for a test: the figures, and for each failing seed what broke and how to replay it. */
import { Figures } from './figures';
import { replayCommand } from './replay';
import { defaultSteps, runSeed } from './world';
import type { SimOptions } from './world';

export interface BatchResult {
  figures: Figures;
  failures: string[];
}

export async function runSeeds(
  from: number,
  count: number,
  options: Omit<SimOptions, 'seed'> = {},
): Promise<BatchResult> {
  const figures = new Figures();
  const failures: string[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const report = await runSeed({ ...options, seed });
    figures.add(report);
    if (report.violations.length > 0) {
      const lines = report.violations.slice(0, 5).map((v) => `  [${v.invariant}] ${v.message}`);
      failures.push(
        `seed ${seed}:\n${lines.join('\n')}\n  replay: ${replayCommand(seed, options.steps ?? defaultSteps, options.live !== false, options.filters !== false)}`,
      );
    }
  }
  return { figures, failures };
}
