// The conflict engine alone, without HTTP or a database: detecting and settling a batch of
// conflicting patient updates with settleChange + applyEffect, as push does for each op.
import { applyEffect, formatHlc, settleChange } from '@outpost/core';
import type { ConflictOutcome, ConflictStrategy, IncomingChange, RecordState } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { row } from './report';
import type { BenchContext, BenchRow, Benchmark } from './report';
import { median } from './sync-throughput';
import { patientCreates } from './workload';

/** One batch: as many conflicting changes as a busy clinic's devices might bring back in a day. */
const batchSize = 10_000;
/** The budget for one batch. Rows report its inverse, changes/s, so higher is better as in every row. */
const budgetMs = 100;
const budgetRate = batchSize / (budgetMs / 1000);

interface Rule {
  /** Row name suffix. */
  name: string;
  strategy: ConflictStrategy;
  fallback: Exclude<ConflictStrategy, 'merge'>;
}

function patientRule(): Rule {
  const conflict = fieldClinic.collection('patients')?.conflict;
  if (!conflict) throw new Error('field-clinic has no patients');
  return { name: `${conflict.strategy}`, ...conflict };
}

const villages = ['Ntcheu', 'Balaka', 'Dedza', 'Mangochi', 'Zomba'];
const dayStart = Date.UTC(2024, 10, 4, 8);

interface Workload {
  stored: RecordState[];
  changes: (IncomingChange & { hlc: string })[];
}

/**
 * 10,000 stored patients, each created on a clinic tablet (v1) and then given a new village by a
 * second tablet (v2); and for each one update from a phone still on v1. Even-numbered updates
 * dispute the village, odd ones change the phone and notes (disjoint). In every other pair of
 * records the phone's change is older than the tablet's, so both sides of last-write-wins and of
 * the crdt village register are taken.
 */
function workload(): Workload {
  const creates = patientCreates(batchSize, 7);
  const stored: RecordState[] = [];
  const changes: (IncomingChange & { hlc: string })[] = [];
  creates.forEach(({ data }, i) => {
    const ms = dayStart + i * 10;
    const phoneFirst = i % 4 < 2;
    const createdAt = formatHlc({ ms, counter: 0, node: 'bench-tablet' });
    const tabletAt = formatHlc({ ms: ms + (phoneFirst ? 6 : 3), counter: 0, node: 'bench-tablet-2' });
    const phoneAt = formatHlc({ ms: ms + (phoneFirst ? 3 : 6), counter: 0, node: 'WmDbPhone01x9Qz' });
    const created = applyEffect(null, { kind: 'replace', data: { ...data } }, 1, createdAt);
    const other = villages[i % villages.length] ?? 'Zomba';
    const village = other === data.village ? 'Salima' : other;
    stored.push(applyEffect(created, { kind: 'patch', patch: { village } }, 2, tabletAt));
    const change =
      i % 2 === 0
        ? { village: 'Nkhotakota' }
        : { phone: `+265 88${1_000_000 + i}`, notes: 'Seen at the outreach clinic.' };
    changes.push({ type: 'update', baseVersion: 1, data: change, hlc: phoneAt });
  });
  return { stored, changes };
}

type Outcomes = Record<ConflictOutcome | 'none', number>;

/** Settles the whole batch as push does; returns how many of each outcome, so a wrong result fails the run. */
function settleAll(load: Workload, rule: Rule): Outcomes {
  const outcomes: Outcomes = { none: 0, open: 0, 'server-won': 0, 'client-won': 0, merged: 0, rejected: 0 };
  for (let i = 0; i < load.changes.length; i++) {
    const change = load.changes[i];
    const current = load.stored[i];
    if (!change || !current) throw new Error(`workload item ${i} missing`);
    const settled = settleChange({
      change,
      current,
      strategy: rule.strategy,
      fallback: rule.fallback,
      hlc: change.hlc,
    });
    const next = applyEffect(current, settled.effect, current.version + 1, change.hlc);
    if (next.version < current.version) throw new Error('a record went back a version');
    outcomes[settled.outcome ?? 'none']++;
  }
  return outcomes;
}

/** What each rule must decide for this workload (a quarter of the records per case). */
function expectedOutcomes(rule: Rule): Partial<Outcomes> {
  const half = batchSize / 2;
  switch (rule.strategy) {
    case 'merge':
      // Disjoint edits merge; the disputed village goes to the fallback (manual for patients).
      return rule.fallback === 'manual' ? { merged: half, open: half } : { merged: half };
    case 'last-write-wins':
      return { 'client-won': half, 'server-won': half };
    case 'crdt':
      // Disjoint registers are no conflict; the village register goes to the later HLC.
      return { none: half, 'client-won': half / 2, 'server-won': half / 2 };
    default:
      return {};
  }
}

function check(rule: Rule, outcomes: Outcomes): void {
  const expected = expectedOutcomes(rule);
  const wrong = Object.entries(expected).some(([o, n]) => outcomes[o as keyof Outcomes] !== n);
  if (wrong) {
    throw new Error(
      `${rule.name}: outcomes ${JSON.stringify(outcomes)}, expected ${JSON.stringify(expected)}`,
    );
  }
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

/**
 * Median of `runs` timed batches after one discarded batch (JIT). Every run settles the same
 * stored records and changes: the engine is pure, so nothing carries over between runs.
 * `--ops` does not apply: the batch is 10,000 by definition of the target.
 */
export const conflictEngine: Benchmark = {
  name: 'conflict-engine',
  async run(context: BenchContext): Promise<BenchRow[]> {
    const load = workload();
    const rules: Rule[] = [
      patientRule(),
      { name: 'last-write-wins', strategy: 'last-write-wins', fallback: 'manual' },
      { name: 'crdt', strategy: 'crdt', fallback: 'manual' },
    ];
    const rows: BenchRow[] = [];
    for (const rule of rules) {
      check(rule, settleAll(load, rule));
      const times: number[] = [];
      for (let i = 0; i < context.runs; i++) {
        const start = performance.now();
        settleAll(load, rule);
        times.push(performance.now() - start);
      }
      const batchMs = median(times);
      context.log(
        `${rule.name}${rule.strategy === 'merge' ? ` (fallback ${rule.fallback})` : ''}: ` +
          `${ms(batchMs)} per ${batchSize.toLocaleString('en-US')} changes, median of ${context.runs} ` +
          `(${times.map(ms).join(', ')}); target under ${budgetMs} ms`,
      );
      rows.push(row(`conflict-${rule.name}`, 'changes/s', batchSize / (batchMs / 1000), budgetRate, 1));
    }
    return rows;
  },
};
