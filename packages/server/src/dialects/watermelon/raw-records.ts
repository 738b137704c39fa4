import { z } from 'zod';
import { parseHlc } from '@outpost/core';
import type { CollectionDefinition, RecordData } from '@outpost/core';

/** A record as WatermelonDB's sync protocol carries it: `id` plus one value per column. */
export type RawRecord = { id: string } & Record<string, unknown>;

/**
 * Columns WatermelonDB maintains on its own: they are record metadata here, not data. A schema
 * that declares a field of the same name keeps it as data.
 */
const createdAtColumn = 'created_at';
const updatedAtColumn = 'updated_at';
/** WatermelonDB's local bookkeeping; its protocol says the server must ignore these. */
const localColumns = new Set(['id', '_status', '_changed']);

const structuredTypes = new Set(['array', 'object', 'record', 'tuple', 'map', 'set']);
const structuredByCollection = new WeakMap<CollectionDefinition, ReadonlySet<string>>();

/**
 * The fields holding arrays or objects. WatermelonDB columns hold only strings, numbers and
 * booleans, so such a field travels as JSON text in a string column (what its `@json` stores).
 */
function structuredFields(def: CollectionDefinition): ReadonlySet<string> {
  let found = structuredByCollection.get(def);
  if (!found) {
    const names = new Set<string>();
    for (const [field, fieldSchema] of Object.entries(def.fields.shape)) {
      let type = fieldSchema as z.ZodType;
      while (type instanceof z.ZodOptional || type instanceof z.ZodNullable || type instanceof z.ZodDefault)
        type = type.unwrap() as z.ZodType;
      if (structuredTypes.has(type.def.type)) names.add(field);
    }
    found = names;
    structuredByCollection.set(def, found);
  }
  return found;
}

function declares(def: CollectionDefinition, field: string): boolean {
  return Object.hasOwn(def.fields.shape, field);
}

/** What pull knows of a stored record. */
export interface RecordForDevice {
  id: string;
  version: number;
  data: RecordData;
  hlc: string;
  updatedAt: string;
}

/**
 * When the record last changed, in epoch milliseconds: the wall time of its HLC, which is the
 * clock devices stamp their own changes with, so a device's own change comes back unchanged.
 */
function changedAtMs(record: Pick<RecordForDevice, 'hlc' | 'updatedAt'>): number {
  return parseHlc(record.hlc)?.ms ?? Date.parse(record.updatedAt);
}

/**
 * A stored record as WatermelonDB's raw record. Every declared field is present (null when
 * empty), because WatermelonDB keeps a local value for any column the server leaves out.
 * `updated_at` is when the record last changed. Outpost keeps no creation time, so `created_at`
 * is sent only while the record is at version 1, when it was last changed as it was made;
 * otherwise it is left out and a device keeps the one it holds.
 */
export function toRaw(def: CollectionDefinition, record: RecordForDevice): RawRecord {
  const raw: RawRecord = { id: record.id };
  const structured = structuredFields(def);
  for (const field of Object.keys(def.fields.shape)) {
    const value = record.data[field];
    raw[field] =
      value === undefined || value === null
        ? null
        : structured.has(field) || typeof value === 'object'
          ? JSON.stringify(value)
          : value;
  }
  const changedAt = changedAtMs(record);
  if (!declares(def, updatedAtColumn)) raw[updatedAtColumn] = changedAt;
  if (!declares(def, createdAtColumn) && record.version === 1) raw[createdAtColumn] = changedAt;
  return raw;
}

/** A JSON column as the value the schema expects; text that is not JSON stays text for the schema to refuse. */
function fromJsonColumn(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value === '') return null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

export interface DeviceRecord {
  /**
   * The record's columns as engine data: null clears a field, JSON columns parsed. Columns the
   * schema does not declare stay in, so the engine refuses them by name rather than dropping them.
   */
  data: RecordData;
  /** `updated_at` as the device stamped it, when it is a usable time. */
  changedAtMs: number | undefined;
}

export function fromRaw(def: CollectionDefinition, raw: Readonly<Record<string, unknown>>): DeviceRecord {
  const structured = structuredFields(def);
  const entries: Array<[string, unknown]> = [];
  let changedAt: number | undefined;
  for (const [column, value] of Object.entries(raw)) {
    if (localColumns.has(column)) continue;
    if (!declares(def, column) && (column === createdAtColumn || column === updatedAtColumn)) {
      if (column === updatedAtColumn && isTime(value)) changedAt = value;
      continue;
    }
    entries.push([column, structured.has(column) ? fromJsonColumn(value) : value]);
  }
  // fromEntries defines own properties, so a column named like "__proto__" stays a plain, refusable key.
  return { data: Object.fromEntries(entries) as RecordData, changedAtMs: changedAt };
}

/** The time of a stored record's latest change as pull sends it in `updated_at`. */
export function sentUpdatedAt(record: Pick<RecordForDevice, 'hlc' | 'updatedAt'>): number {
  return changedAtMs(record);
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value < 1e15;
}
