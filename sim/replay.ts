import { defaultSteps } from './world';

/** The command that replays one seed, printed with every failure. */
export function replayCommand(
  seed: number,
  steps: number = defaultSteps,
  live = true,
  filters = true,
): string {
  const options = `${steps !== defaultSteps ? ` --steps ${steps}` : ''}${live ? '' : ' --no-live'}${filters ? '' : ' --no-filters'}`;
  return `npm run sim -- --seeds 1 --from ${seed}${options} --trace`;
}
