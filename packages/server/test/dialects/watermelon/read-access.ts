// A clinic that changes who may read what: field-clinic, except that clinicians may read encounters
// only once the test grants it, as a new deploy of the clinic's schema would.
import { fieldClinic } from '@outpost/examples';
import type { Schema } from '@outpost/core';

export interface ChangingAccess {
  readonly schema: Schema;
  /** From now on clinicians may read encounters. */
  grantEncounters(): void;
}

export function encountersGrantedLater(): ChangingAccess {
  let granted = false;
  const schema: Schema = {
    name: fieldClinic.name,
    collections: fieldClinic.collections,
    collectionNames: fieldClinic.collectionNames,
    collection: (name) => fieldClinic.collection(name),
    can: (roles, collection, action) =>
      (granted || collection !== 'encounters' || action !== 'read' || roles.includes('admin')) &&
      fieldClinic.can(roles, collection, action),
  };
  return {
    schema,
    grantEncounters: () => {
      granted = true;
    },
  };
}
