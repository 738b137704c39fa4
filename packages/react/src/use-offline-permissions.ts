import type { SyncClient } from '@outpost/client';
import type { Action } from '@outpost/core';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { useSyncClient } from './sync-client-context';

export interface OfflinePermissions {
  /** The roles the device checks writes against (`client.roles`); null when none are known. */
  readonly roles: readonly string[] | null;
  /**
   * Whether the person may do `action` on the collection, by the schema's permissions for their
   * roles (`client.can`): true when no roles are known, since the server then decides.
   */
  can(collection: string, action: Action): boolean;
}

function permissionsSource(client: SyncClient): ValueSource<OfflinePermissions> {
  return {
    read: () => {
      const roles = client.roles;
      return { roles, can: (collection, action) => client.can(collection, action) };
    },
    // A new `can` only with new roles: a screen that hides a button re-renders when they change.
    equal: (a, b) => a.roles === b.roles,
    listen: (changed) => client.on('roles', () => changed()),
  };
}

/**
 * Seed 003's `useOfflinePermissions`: what the signed-in person's roles allow, read on the device
 * with no network, so a screen hides or disables what the role may not do. Re-renders when
 * `client.setRoles` changes the roles.
 */
export function useOfflinePermissions(): OfflinePermissions {
  const client = useSyncClient();
  return useExternalValue(() => permissionsSource(client), [client]);
}
