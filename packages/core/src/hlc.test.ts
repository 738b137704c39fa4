import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HlcClock, compareHlc, parseHlc } from './hlc';

describe('HlcClock', () => {
  it('ticks strictly upward even when the wall clock stands still or goes back', () => {
    let wall = 1_000;
    const clock = new HlcClock({ node: 'a', now: () => wall });
    const a = clock.tick();
    const b = clock.tick();
    wall = 500;
    const c = clock.tick();
    expect(compareHlc(a, b)).toBe(-1);
    expect(compareHlc(b, c)).toBe(-1);
    expect(parseHlc(c)).toEqual({ ms: 1_000, counter: 2, node: 'a' });
  });

  it('orders a local event after any timestamp it received', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 0, max: 1e12 }),
        (localWall, remoteWall) => {
          const remote = new HlcClock({ node: 'r', now: () => remoteWall }).tick();
          const local = new HlcClock({ node: 'l', now: () => localWall, maxDriftMs: Infinity });
          local.receive(remote);
          expect(compareHlc(remote, local.tick())).toBe(-1);
        },
      ),
    );
  });

  it('refuses malformed timestamps and ones implausibly far ahead', () => {
    const clock = new HlcClock({ node: 'a', now: () => 1_000, maxDriftMs: 60_000 });
    expect(clock.receive('garbage')).toBe(false);
    const future = new HlcClock({ node: 'b', now: () => 1_000 + 3_600_000 }).tick();
    expect(clock.receive(future)).toBe(false);
    expect(parseHlc(clock.tick())?.ms).toBe(1_000);
  });

  it('sorts as text in the same order as (ms, counter, node)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ms: fc.integer({ min: 0, max: 1e13 }),
            counter: fc.integer({ min: 0, max: 999_999 }),
            node: fc.constantFrom('a', 'b'),
          }),
          { minLength: 2 },
        ),
        (stamps) => {
          const texts = stamps.map((s) => {
            const clock = new HlcClock({ node: s.node, now: () => s.ms });
            let t = clock.tick();
            for (let i = 0; i < s.counter % 5; i++) t = clock.tick();
            return t;
          });
          const byText = [...texts].sort();
          const byParts = [...texts].sort((x, y) => {
            const a = parseHlc(x);
            const b = parseHlc(y);
            if (!a || !b) throw new Error('unparsable');
            return a.ms - b.ms || a.counter - b.counter || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
          });
          expect(byText).toEqual(byParts);
        },
      ),
    );
  });
});
