// The simulation itself: a seed replays exactly, every bug it found keeps its seed, and the
// server's other dialect (PostgreSQL) holds the same invariants under the same schedules.
import { describe, expect, it } from 'vitest';
import { createStorage, dialects } from '../packages/server/test/server-fixture';
import { regressions } from './regressions';
import { runSeed } from './world';

describe('the simulation', () => {
  it('replays a seed exactly: the same seed gives the same trace, another seed another', async () => {
    const first = await runSeed({ seed: 7, keepTrace: true });
    const again = await runSeed({ seed: 7, keepTrace: true });
    expect(again.trace).toEqual(first.trace);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.faults).toEqual(first.faults);
    expect((await runSeed({ seed: 8 })).traceHash).not.toBe(first.traceHash);
    // The trace is the run: server answers and every device's events, not an empty shell.
    expect(first.trace?.length).toBeGreaterThan(100);
  }, 60_000);

  it.each(regressions)(
    'seed $seed stays fixed: $bug',
    async ({ seed, live, filters }) => {
      // As found: live updates draw more of the network, and filters change what devices hold.
      const report = await runSeed({ seed, live: live === true, filters: filters === true });
      expect(report.violations).toEqual([]);
    },
    60_000,
  );
});

describe.each(dialects())('the simulation with the server on %s', (kind) => {
  it('holds the five invariants for a few seeds', async () => {
    for (const seed of [3, 5, 11]) {
      const storage = await createStorage(kind);
      const report = await runSeed({
        seed,
        database: { open: () => storage.open(), destroy: () => storage.destroy() },
      });
      expect(report.violations, `seed ${seed}`).toEqual([]);
    }
  }, 180_000);
});
