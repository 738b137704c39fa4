import type { Schema } from '@outpost/core';
import type { HubOptions } from './hub-sync';

/**
 * Refuses, when the server is made, a hub that could never relay: a bad upstream URL, no account,
 * two accounts for one tenant, a retry limit that is no count, or a tenant whose schema has ids
 * made by the server (the hub would need to map each of its ids to the upstream's: not built).
 */
export function checkHubOptions(options: HubOptions, schemaFor: (tenant: string) => Schema): void {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new Error(`hub: the upstream URL ${JSON.stringify(options.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`hub: the upstream URL must be http or https, not ${url.protocol}`);
  if (options.accounts.length === 0)
    throw new Error('hub: no upstream account: name one per tenant to relay');
  const tenants = new Set<string>();
  for (const account of options.accounts) {
    if (!account.tenant || !account.email || !account.password)
      throw new Error('hub: each upstream account needs a tenant, an email and a password');
    if (tenants.has(account.tenant))
      throw new Error(`hub: two upstream accounts for tenant ${account.tenant}`);
    tenants.add(account.tenant);
    const schema = schemaFor(account.tenant);
    const serverIds = schema.collectionNames.filter(
      (name) => schema.collection(name)?.idStrategy === 'server',
    );
    if (serverIds.length > 0) {
      throw new Error(
        `hub: tenant ${account.tenant}'s schema has collections whose ids the server assigns (${serverIds.join(', ')}); a hub relays only collections whose ids are made on the device`,
      );
    }
  }
  for (const [name, value] of [
    ['maxRetries', options.maxRetries],
    ['batchSize', options.batchSize],
    ['timeoutMs', options.timeoutMs],
    ['intervalMs', options.intervalMs === false ? undefined : options.intervalMs],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      throw new Error(`hub: ${name} must be a whole number of 1 or more, not ${String(value)}`);
  }
}
