import { defaultSteps } from './world';

/** The command that replays one seed, printed with every failure. */
export function replayCommand(seed: number, steps: number = defaultSteps): string {
  return `npm run sim -- --seeds 1 --from ${seed}${steps !== defaultSteps ? ` --steps ${steps}` : ''} --trace`;
}
