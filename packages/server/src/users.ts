import { uuidv7 } from '@outpost/core';
import { hashPassword } from './auth/passwords';
import type { SyncStore } from './storage/sync-store';

export interface NewUser {
  email: string;
  password: string;
  tenant: string;
  roles: readonly string[];
}

/** Creates users that do not exist yet (matched by email); existing ones keep their password. */
export async function ensureUsers(
  store: SyncStore,
  users: readonly NewUser[],
  now = new Date(),
): Promise<number> {
  let created = 0;
  for (const u of users) {
    if (await store.findUserByEmail(u.email)) continue;
    const passwordHash = await hashPassword(u.password);
    const isNew = await store.createUser(
      { id: uuidv7(now.getTime()), tenant: u.tenant, email: u.email, passwordHash, roles: [...u.roles] },
      now.toISOString(),
    );
    if (isNew) created += 1;
  }
  return created;
}
