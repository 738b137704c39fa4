import type { Schema } from '@outpost/core';

function normal(name: string): string {
  return name.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * The collection an entity type names. Seed 001 writes collections as they are ('appointments',
 * 'pets'); seed 003's temp ids end in a singular one ('temp_1730534400000_a7b3c2_pet') and its
 * graph says 'SOAPNote'. So a name matches its collection, or that collection's singular, ignoring
 * case, '-' and '_'.
 */
export function collectionOf(schema: Schema, entityType: unknown): string | undefined {
  if (typeof entityType !== 'string') return undefined;
  if (schema.collection(entityType)) return entityType;
  const wanted = normal(entityType);
  return schema.collectionNames.find((c) => normal(c) === wanted || normal(c) === `${wanted}s`);
}
