import { createHash } from 'node:crypto';
import { isTempId } from '@outpost/core';

/**
 * SmartDMV's ids on the wire. Its database has integer keys (`realId: 789`, `petId: 123`) and its
 * devices name new records `temp_…` ('temp_appt_12345', 'temp_123',
 * 'temp_1730534400000_a7b3c2_pet'). Outpost's vet-practice ids are server counters kept as text,
 * and its temp ids have one form, `temp_<ms>_<rand>_<collection>`.
 */

/** A SmartDMV temp id: any string starting with `temp_`, as its TempIdResolver.isTempId treats them. */
export function isSeedTempId(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('temp_') && value.length <= 128;
}

// Server counters stay below 2^53, so they travel as exact JSON numbers.
const counterId = /^[1-9]\d{0,14}$/;

/** An id as SmartDMV reads it: a server counter as a number, anything else as it is. */
export function toSeedId(id: string): string | number {
  return counterId.test(id) ? Number(id) : id;
}

const collectionPart = /^[A-Za-z0-9]{1,64}$/;

/**
 * The ids of one request, both ways. A SmartDMV temp id becomes a temp id of Outpost's form derived
 * from its text and collection, so the same temp id names the same record in every later request
 * (the engine keeps the mapping per client installation), and answers carry the device's own text.
 */
export class SeedIdBook {
  private readonly seedTempIds = new Map<string, string>();

  /** An id or reference the device sent, in the engine's form; values that are no id pass unchanged. */
  toEngine(value: unknown, collection: unknown): unknown {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
    if (!isSeedTempId(value)) return value;
    const name = typeof collection === 'string' && collectionPart.test(collection) ? collection : 'x';
    const digest = createHash('sha256').update(`${name}\u0000${value}`).digest('hex').slice(0, 20);
    const engineId = isTempId(value) ? value : `temp_0_${digest}_${name}`;
    this.seedTempIds.set(engineId, value);
    return engineId;
  }

  /** An engine id in SmartDMV's form: the device's own temp id back, a real id as a number. */
  toSeed(id: string): string | number {
    return this.seedTempIds.get(id) ?? toSeedId(id);
  }

  /** The temp id the device sent for an engine temp id, if it sent one in this request. */
  sentTempId(engineId: string): string | undefined {
    return this.seedTempIds.get(engineId);
  }

  /** Engine text (an error message, its details) naming the device's temp ids as the device wrote them. */
  inSeedTerms<T>(value: T): T {
    if (this.seedTempIds.size === 0 || value === undefined) return value;
    let json = JSON.stringify(value);
    for (const [engineId, seedId] of this.seedTempIds) {
      if (engineId !== seedId) json = json.replaceAll(engineId, JSON.stringify(seedId).slice(1, -1));
    }
    return JSON.parse(json) as T;
  }
}
