// Which link an ARM request is about and where it is: its ids, its URL on a client's endpoint and
// the api-version every request uses. What the step modules need to name a link in a plan, apart
// from the client that sends requests (client.ts): `validate` and `plan` load the step modules and
// must not load it (start-up budget, bench/startup). No @azure import but types.
import type { SqlManagementClient } from '@azure/arm-sql';
import type { Inventory } from '../../core/types.js';

/** The api-version of every ARM request the engine makes (README, "ARM versions"). */
export const LINK_API_VERSION = '2025-01-01';

/** Which link a request is about: the MI-side resource path. */
export interface LinkIds {
  subscriptionId: string;
  resourceGroup: string;
  managedInstance: string;
  name: string;
}

export function linkIdsOf(inventory: Inventory): LinkIds {
  const mi = inventory.link.managedInstance;
  return {
    subscriptionId: mi.subscriptionId,
    resourceGroup: mi.resourceGroup,
    managedInstance: mi.name,
    name: inventory.link.name,
  };
}

/** `dag1 on sqlmi1 (rg/sub)`, the way plans and messages name a link. */
export function describeLink(ids: LinkIds): string {
  return `${ids.name} on ${ids.managedInstance} (${ids.resourceGroup}/${ids.subscriptionId})`;
}

/** Endpoint per client, for the raw requests (the client keeps its own private). */
const endpoints = new WeakMap<object, string>();

/** The endpoint createArmClient built `client` for. */
export function rememberEndpoint(client: SqlManagementClient, endpoint: string): void {
  endpoints.set(client, endpoint);
}

export function armEndpointOf(client: SqlManagementClient): string {
  const known = endpoints.get(client);
  if (known) return known;
  const priv = (client as unknown as { _endpoint?: string })._endpoint;
  return (priv ?? 'https://management.azure.com').replace(/\/+$/, '');
}

export function linkUrl(client: SqlManagementClient, ids: LinkIds, suffix = ''): string {
  const seg = (s: string) => encodeURIComponent(s);
  return (
    `${armEndpointOf(client)}/subscriptions/${seg(ids.subscriptionId)}/resourceGroups/${seg(ids.resourceGroup)}` +
    `/providers/Microsoft.Sql/managedInstances/${seg(ids.managedInstance)}` +
    `/distributedAvailabilityGroups/${seg(ids.name)}${suffix}?api-version=${LINK_API_VERSION}`
  );
}

/** The managed instance resource itself (ManagedInstances_Get). */
export function instanceUrl(client: SqlManagementClient, ids: Pick<LinkIds, 'subscriptionId' | 'resourceGroup' | 'managedInstance'>): string {
  const seg = (s: string) => encodeURIComponent(s);
  return (
    `${armEndpointOf(client)}/subscriptions/${seg(ids.subscriptionId)}/resourceGroups/${seg(ids.resourceGroup)}` +
    `/providers/Microsoft.Sql/managedInstances/${seg(ids.managedInstance)}?api-version=${LINK_API_VERSION}`
  );
}
