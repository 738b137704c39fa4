import type { Schema } from '@outpost/core';

function normalize(name: string): string {
  return name.replace(/[-_\s]/g, '').toLowerCase();
}

/**
 * The collection a seed-000 resourceType names. Its clients say "encounter" and "patient" where the
 * schema says "encounters" and "patients", so a type matches a collection by name or by its
 * singular, ignoring case, dashes and underscores ("clinical_note" -> clinicalNotes).
 */
export function collectionFor(schema: Schema, resourceType: string): string | null {
  const wanted = normalize(resourceType);
  for (const name of schema.collectionNames) {
    const candidate = normalize(name);
    if (candidate === wanted || candidate === `${wanted}s`) return name;
  }
  return null;
}
