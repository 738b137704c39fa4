import type { CollectionDefinition, RecordData } from '@outpost/core';
import { toSeedId } from './seed-ids';
import type { SeedIdBook } from './seed-ids';

/**
 * Columns every SmartDMV row carries that are the server's bookkeeping, not record data: a device
 * that sends a whole entity back (as its push does for updates) sends them too.
 */
const bookkeeping = new Set(['id', 'createdAt', 'updatedAt']);

/** Record data as SmartDMV sent it, in the engine's form: bookkeeping left out, reference ids translated. */
export function engineData(
  def: CollectionDefinition | undefined,
  data: Readonly<RecordData>,
  ids: SeedIdBook,
): RecordData {
  const out: RecordData = {};
  for (const [field, value] of Object.entries(data)) {
    if (bookkeeping.has(field)) continue;
    const target = def?.references[field];
    out[field] = target === undefined ? value : ids.toEngine(value, target);
  }
  return out;
}

/** Record data in SmartDMV's form: with its id, like a row of its tables, and reference ids as numbers. */
export function seedData(
  def: CollectionDefinition | undefined,
  id: string,
  data: Readonly<RecordData> | null,
  toSeed: (id: string) => string | number = toSeedId,
): RecordData {
  const out: RecordData = { id: toSeed(id) };
  for (const [field, value] of Object.entries(data ?? {})) {
    out[field] = def?.references[field] !== undefined && typeof value === 'string' ? toSeed(value) : value;
  }
  return out;
}
