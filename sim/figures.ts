/** The figures of many seeds: what ran, what was injected, what broke. */
import type { FaultCounts, FaultKind } from './network';
import { noFaults } from './network';
import type { ByDesign } from './invariants';
import { noByDesign } from './invariants';
import type { SeedReport } from './world';
import { noWrites } from './workload';
import type { WriteFigures } from './workload';

export class Figures {
  seeds = 0;
  readonly faults: FaultCounts = noFaults();
  readonly writes: WriteFigures = noWrites();
  readonly byDesign: ByDesign = noByDesign();
  readonly totals = {
    devices: 0,
    requests: 0,
    serverRequests: 0,
    opsMade: 0,
    conflicts: 0,
    resolutions: 0,
    retriedByHand: 0,
    events: 0,
    filteredDevices: 0,
    filterChanges: 0,
  };
  readonly violationsByInvariant = new Map<string, number>();
  readonly failedSeeds: number[] = [];

  add(report: SeedReport): void {
    this.seeds += 1;
    for (const k of Object.keys(this.faults) as FaultKind[]) this.faults[k] += report.faults[k];
    for (const k of Object.keys(this.writes) as Array<keyof WriteFigures>) this.writes[k] += report.writes[k];
    for (const k of Object.keys(this.byDesign) as Array<keyof ByDesign>)
      this.byDesign[k] += report.byDesign[k];
    for (const k of Object.keys(this.totals) as Array<keyof Figures['totals']>)
      this.totals[k] += report.figures[k];
    for (const v of report.violations)
      this.violationsByInvariant.set(v.invariant, (this.violationsByInvariant.get(v.invariant) ?? 0) + 1);
    if (report.violations.length > 0) this.failedSeeds.push(report.seed);
  }

  summary(seconds: number, kinds: readonly FaultKind[]): string {
    const rows = [
      `seeds run: ${this.seeds} in ${seconds.toFixed(1)} s (${((seconds * 1000) / Math.max(1, this.seeds)).toFixed(0)} ms a seed)`,
      `failing seeds: ${this.failedSeeds.length}${this.failedSeeds.length ? ` (${this.failedSeeds.slice(0, 20).join(', ')}${this.failedSeeds.length > 20 ? ', ...' : ''})` : ''}`,
      `violations: ${[...this.violationsByInvariant].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`,
      `faults injected: ${kinds.map((k) => `${k} ${this.faults[k]}`).join(', ')}`,
      `local writes: ${Object.entries(this.writes)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
      `traffic: ${Object.entries(this.totals)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
      `by design: ${Object.entries(this.byDesign)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    ];
    return rows.join('\n');
  }

  toJSON(seconds: number) {
    return {
      seeds: this.seeds,
      seconds,
      failedSeeds: this.failedSeeds,
      violations: Object.fromEntries(this.violationsByInvariant),
      faults: this.faults,
      writes: this.writes,
      totals: this.totals,
      byDesign: this.byDesign,
    };
  }
}
