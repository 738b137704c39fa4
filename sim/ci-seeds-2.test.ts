// CI runs 200 seeds in two files, so vitest's two workers share them.
import { expect, it } from 'vitest';
import { faultKinds } from './network';
import { runSeeds } from './seed-batch';

it('seeds 101-200: server and devices under faults hold all five invariants', async () => {
  const began = performance.now();
  const { figures, failures } = await runSeeds(101, 100);
  console.log(figures.summary((performance.now() - began) / 1000, faultKinds));
  expect(failures).toEqual([]);
  // The run did inject what it claims to: every kind of fault, and ops that met conflicts.
  for (const kind of faultKinds) expect(figures.faults[kind], kind).toBeGreaterThan(0);
  expect(figures.totals.conflicts).toBeGreaterThan(0);
}, 240_000);
