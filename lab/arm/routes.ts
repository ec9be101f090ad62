// Parses ARM request paths the lab serves. Fixed segments match case-insensitively, as ARM's
// front door does; names are percent-decoded and passed on as sent.

export interface InstanceScope {
  subscriptionId: string;
  resourceGroup: string;
  managedInstance: string;
}

export type LinkAction = 'failover' | 'setRole';

export type ArmRoute =
  /** The managed instance itself (ManagedInstances_Get). */
  | { kind: 'instance'; scope: InstanceScope }
  | { kind: 'links'; scope: InstanceScope }
  | { kind: 'link'; scope: InstanceScope; name: string }
  | { kind: 'linkAction'; scope: InstanceScope; name: string; action: LinkAction }
  | { kind: 'operationResult'; subscriptionId: string; location: string; operationId: string }
  | { kind: 'asyncOperation'; subscriptionId: string; location: string; operationId: string };

export const operationResultsType = 'distributedAvailabilityGroupsOperationResults';
export const asyncOperationType = 'distributedAvailabilityGroupsAzureAsyncOperation';

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

function splitPath(pathname: string): string[] | undefined {
  const raw = pathname.split('/').slice(1);
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  try {
    const parts = raw.map((s) => decodeURIComponent(s));
    return parts.some((p) => p === '') ? undefined : parts;
  } catch {
    return undefined;
  }
}

export function parseArmPath(pathname: string): ArmRoute | undefined {
  const p = splitPath(pathname);
  if (!p || !same(p[0], 'subscriptions') || p.length < 2) return undefined;
  const subscriptionId = p[1]!;

  // /subscriptions/{sub}/providers/Microsoft.Sql/locations/{loc}/{operationType}/{id}
  if (p.length === 8 && same(p[2], 'providers') && same(p[3], 'Microsoft.Sql') && same(p[4], 'locations')) {
    const location = p[5]!;
    const operationId = p[7]!;
    if (same(p[6], operationResultsType)) return { kind: 'operationResult', subscriptionId, location, operationId };
    if (same(p[6], asyncOperationType)) return { kind: 'asyncOperation', subscriptionId, location, operationId };
    return undefined;
  }

  // /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/managedInstances/{mi}
  if (p.length === 8 && same(p[2], 'resourceGroups') && same(p[4], 'providers') && same(p[5], 'Microsoft.Sql') && same(p[6], 'managedInstances')) {
    return { kind: 'instance', scope: { subscriptionId, resourceGroup: p[3]!, managedInstance: p[7]! } };
  }

  // /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/managedInstances/{mi}/distributedAvailabilityGroups[/{dag}[/{action}]]
  if (
    p.length < 9 || p.length > 11 ||
    !same(p[2], 'resourceGroups') || !same(p[4], 'providers') || !same(p[5], 'Microsoft.Sql') ||
    !same(p[6], 'managedInstances') || !same(p[8], 'distributedAvailabilityGroups')
  ) {
    return undefined;
  }
  const scope: InstanceScope = { subscriptionId, resourceGroup: p[3]!, managedInstance: p[7]! };
  if (p.length === 9) return { kind: 'links', scope };
  const name = p[9]!;
  if (p.length === 10) return { kind: 'link', scope, name };
  if (same(p[10], 'failover')) return { kind: 'linkAction', scope, name, action: 'failover' };
  if (same(p[10], 'setRole')) return { kind: 'linkAction', scope, name, action: 'setRole' };
  return undefined;
}
