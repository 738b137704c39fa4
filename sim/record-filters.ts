/**
 * The record filters a device of a run may keep (seed 002's selective sync: "only sync records from
 * the last six months"), and how one changes when the device opens again, as after an app update.
 *
 * Each filter reads only the record's data, never a clock: the devices' clocks are skewed, and the
 * checker must tell, from the server's final state alone, which records a device keeps. Updates in
 * the workload move records across each filter (an encounter's date, a patient's village, a pet's
 * species), so records leave the device and come back. Every filter has a text of its own: the
 * client compares a filter's source text to see it widened (decision 0027), so two filters built
 * from one function and a cut-off would look the same to it.
 */
import type { RecordFilters } from '@outpost/client';
import type { Prng } from './prng';

const byTenant: Record<string, readonly RecordFilters[]> = {
  'clinic-a': [
    { encounters: (r) => String(r.data['date'] ?? '') >= '2026-03' },
    { encounters: (r) => String(r.data['date'] ?? '') >= '2026-06' },
    {
      encounters: (r) => String(r.data['date'] ?? '') >= '2026-06',
      patients: (r) => r.data['village'] !== 'Zomba',
    },
  ],
  'vet-a': [
    { appointments: (r) => String(r.data['date'] ?? '') >= '2026-05' },
    { pets: (r) => r.data['species'] !== 'goat' },
  ],
};

/** The filters a device of `tenant` may keep: an index into them, or null for none. */
export function filterCount(tenant: string): number {
  return byTenant[tenant]?.length ?? 0;
}

export function filtersOf(tenant: string, choice: number | null): RecordFilters | undefined {
  return choice === null ? undefined : byTenant[tenant]?.[choice];
}

/** A choice for a device as it is set up: about a third of them keep part of their records. */
export function firstChoice(r: Prng, tenant: string): number | null {
  const count = filterCount(tenant);
  return count > 0 && r.chance(0.35) ? r.int(0, count - 1) : null;
}

/**
 * The choice after the device opens again: mostly the same, sometimes another filter (narrower or
 * wider) or none at all, as an app update may bring. Widening makes the client read the collection
 * again from the start.
 */
export function nextChoice(r: Prng, tenant: string, current: number | null): number | null {
  const count = filterCount(tenant);
  if (count === 0 || !r.chance(0.3)) return current;
  const pick = r.int(0, count);
  return pick === count ? null : pick;
}
