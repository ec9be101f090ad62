// A small ArmBackend over plain objects, for the ARM endpoint's own tests: it is the server's
// backend (links, faults, request log), not a stand-in for any client. Also starts an endpoint
// with lab certificates and builds a real @azure/arm-sql client pointed at it.
import { SqlManagementClient } from '@azure/arm-sql';
import { ArmError } from '../../lab/arm/contract.js';
import type { ArmBackend, ArmFault, ArmLink, ArmManagedInstance, ArmOperation, ArmServerOptions } from '../../lab/arm/contract.js';
import { startArmServer } from '../../lab/arm/server.js';
import { testCertificates } from './certificates.js';

export const subscriptionId = '00000000-1111-2222-3333-444444444444';
export const resourceGroup = 'rg-lab';
export const managedInstance = 'mi-lab';

export function sampleLink(name: string, overrides: Partial<ArmLink> = {}): ArmLink {
  return {
    subscriptionId,
    resourceGroup,
    managedInstance,
    name,
    distributedAvailabilityGroupId: '6f1c1b0e-0000-4000-8000-00000000d001',
    replicationMode: 'Async',
    instanceLinkRole: 'Secondary',
    partnerLinkRole: 'Primary',
    partnerAvailabilityGroupName: 'AG_sales',
    instanceAvailabilityGroupName: 'AG_sales_mi',
    partnerEndpoint: 'TCP://sql01.contoso.local:5022',
    failoverMode: 'Manual',
    seedingMode: 'Automatic',
    databases: [
      {
        databaseName: 'sales',
        instanceReplicaId: '6f1c1b0e-0000-4000-8000-00000000a001',
        partnerReplicaId: '6f1c1b0e-0000-4000-8000-00000000b001',
        replicaState: 'Catchup',
        synchronizationHealth: 'HEALTHY',
        connectedState: 'CONNECTED',
        lastReceivedLsn: '71000009408100001',
        lastHardenedLsn: '71000009408100001',
        lastCommitLsn: '71000009408100001',
        lastSentLsn: '71000009408100001',
        lastBackupLsn: '70000000012300001',
        lastHardenedTime: '2025-01-01T00:00:00.000Z',
      },
    ],
    ...overrides,
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  apiVersion: string;
  status: number;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class PlainArmBackend implements ArmBackend {
  readonly instances: Array<{ subscriptionId: string; resourceGroup: string; managedInstance: string }> = [
    { subscriptionId, resourceGroup, managedInstance },
  ];
  readonly faults = new Map<ArmOperation, ArmFault[]>();
  readonly requests: RecordedRequest[] = [];
  /** Every mutating call, in order, as `op:link[:args]`. */
  readonly calls: string[] = [];

  constructor(readonly links: ArmLink[] = [sampleLink('dag_sales')]) {}

  queueFault(op: ArmOperation, ...faults: ArmFault[]): void {
    this.faults.set(op, [...(this.faults.get(op) ?? []), ...faults]);
  }

  hasManagedInstance(sub: string, rg: string, mi: string): boolean {
    return this.instances.some((i) => same(i.subscriptionId, sub) && same(i.resourceGroup, rg) && same(i.managedInstance, mi));
  }

  listLinks(sub: string, rg: string, mi: string): ArmLink[] {
    return this.links.filter((l) => same(l.subscriptionId, sub) && same(l.resourceGroup, rg) && same(l.managedInstance, mi));
  }

  getLink(sub: string, rg: string, mi: string, name: string): ArmLink | undefined {
    return this.listLinks(sub, rg, mi).find((l) => same(l.name, name));
  }

  /** The update policy the fixture's managed instance reports (tests change it). */
  databaseFormat = 'SQLServer2022';

  getManagedInstance(sub: string, rg: string, mi: string): ArmManagedInstance | undefined {
    const found = this.instances.find((i) => same(i.subscriptionId, sub) && same(i.resourceGroup, rg) && same(i.managedInstance, mi));
    if (!found) return undefined;
    return {
      subscriptionId: found.subscriptionId, resourceGroup: found.resourceGroup, name: found.managedInstance, location: 'westus',
      tier: 'GeneralPurpose', fullyQualifiedDomainName: `${found.managedInstance}.fixture.database.windows.net`,
      databaseFormat: this.databaseFormat, timezoneId: 'UTC',
    };
  }

  setReplicationMode(link: ArmLink, mode: 'Async' | 'Sync'): void {
    this.calls.push(`update:${link.name}:${mode}`);
    link.replicationMode = mode;
  }

  deleteLink(link: ArmLink): void {
    this.calls.push(`delete:${link.name}`);
    this.links.splice(this.links.indexOf(link), 1);
  }

  failover(link: ArmLink, failoverType: 'Planned' | 'ForcedAllowDataLoss'): void {
    this.calls.push(`failover:${link.name}:${failoverType}`);
    if (failoverType === 'Planned' && link.databases.some((d) => d.synchronizationHealth !== 'HEALTHY')) {
      throw new ArmError(
        409,
        'DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing',
        'Planned failover cannot be executed if secondaries are not synchronizing.',
      );
    }
    [link.instanceLinkRole, link.partnerLinkRole] = [link.partnerLinkRole, link.instanceLinkRole];
  }

  setRole(link: ArmLink, instanceRole: 'Primary' | 'Secondary', roleChangeType: 'Planned' | 'Forced'): void {
    this.calls.push(`setRole:${link.name}:${instanceRole}:${roleChangeType}`);
    if (link.instanceLinkRole === instanceRole) {
      throw new ArmError(
        409,
        'DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole',
        `The managed instance is already ${instanceRole} in distributed availability group '${link.name}'.`,
      );
    }
    link.instanceLinkRole = instanceRole;
  }

  nextFault(op: ArmOperation): ArmFault | undefined {
    return this.faults.get(op)?.shift();
  }

  recordRequest(entry: RecordedRequest): void {
    this.requests.push(entry);
  }
}

export const token = 'lab-token-5f9a';

export function credentialFor(value: string) {
  return { getToken: async () => ({ token: value, expiresOnTimestamp: Date.now() + 3.6e6 }) };
}

export interface ArmFixture {
  backend: PlainArmBackend;
  endpoint: string;
  ca: string;
  /** A real arm-sql 10.0.0 client; retries are kept short so fault tests stay fast. */
  client(credentialToken?: string): SqlManagementClient;
  /** Holds long-running operations in progress until released. */
  holdOperations(on: boolean): void;
  close(): Promise<void>;
}

export async function startArmFixture(
  options: Partial<Omit<ArmServerOptions, 'tls' | 'backend'>> & { backend?: PlainArmBackend } = {},
): Promise<ArmFixture> {
  const certs = await testCertificates();
  const backend = options.backend ?? new PlainArmBackend();
  const server = await startArmServer({
    token,
    lroDurationMs: 20,
    retryAfterSeconds: 0,
    ...options,
    tls: { key: certs.key, cert: certs.cert },
    backend,
  });
  return {
    backend,
    endpoint: server.endpoint,
    ca: certs.ca,
    client: (credentialToken = token) =>
      new SqlManagementClient(credentialFor(credentialToken), subscriptionId, {
        endpoint: server.endpoint,
        tlsOptions: { ca: certs.ca },
        retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 },
      }),
    holdOperations: (on) => server.holdOperations(on),
    close: async () => {
      await server.close();
    },
  };
}
