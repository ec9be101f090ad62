// The boundary between the lab's HTTPS ARM endpoint (lab/arm/) and the link model. The endpoint
// knows URLs, api-versions, long-running operations and Azure's error bodies; the backend knows
// the links.

export interface ArmLinkDatabase {
  databaseName: string;
  instanceReplicaId: string;
  partnerReplicaId: string;
  replicaState: string; // e.g. 'LinkSynchronizing', 'Catchup'
  synchronizationHealth: 'NOT_HEALTHY' | 'PARTIALLY_HEALTHY' | 'HEALTHY';
  connectedState: 'DISCONNECTED' | 'CONNECTED';
  lastReceivedLsn: string;
  lastHardenedLsn: string;
  lastCommitLsn: string;
  lastSentLsn: string;
  lastBackupLsn: string;
  lastHardenedTime: string; // ISO date-time
}

/** One distributed availability group (link) as the MI side sees it. */
export interface ArmLink {
  subscriptionId: string;
  resourceGroup: string;
  managedInstance: string;
  name: string;
  distributedAvailabilityGroupId: string;
  replicationMode: 'Async' | 'Sync';
  instanceLinkRole: 'Primary' | 'Secondary';
  partnerLinkRole: 'Primary' | 'Secondary';
  partnerAvailabilityGroupName: string;
  instanceAvailabilityGroupName: string;
  partnerEndpoint: string;
  /** Absent when the resource leaves it out (the spec's ListByInstance example has a link without it). */
  failoverMode?: 'None' | 'Manual';
  seedingMode: 'Automatic' | 'Manual';
  databases: ArmLinkDatabase[];
}

/** A managed instance as ManagedInstances_Get shows it (the properties the lab has a use for). */
export interface ArmManagedInstance {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tier: 'GeneralPurpose' | 'BusinessCritical';
  fullyQualifiedDomainName: string;
  /** The update policy: SQLServer2022, SQLServer2025 or AlwaysUpToDate (ManagedInstances.json 2025-01-01). */
  databaseFormat: string;
  timezoneId: string;
}

/** An ARM error: HTTP status plus Azure's `{error: {code, message}}`. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type ArmOperation = 'get' | 'list' | 'update' | 'delete' | 'failover' | 'setRole' | 'getInstance';

/** What the backend wants the endpoint to do to the next request of this kind (scenario faults). */
export type ArmFault =
  | { kind: 'status'; status: 429 | 500 | 503; code: string; retryAfterSeconds?: number }
  /** Accept the long-running operation, then report it failed with this code when polled. */
  | { kind: 'lroFails'; code: string; message: string };

export interface ArmBackend {
  /** The managed instance exists (else 404 ResourceNotFound / ParentResourceNotFound). */
  hasManagedInstance(subscriptionId: string, resourceGroup: string, managedInstance: string): boolean;
  getLink(subscriptionId: string, resourceGroup: string, managedInstance: string, name: string): ArmLink | undefined;
  getManagedInstance(subscriptionId: string, resourceGroup: string, managedInstance: string): ArmManagedInstance | undefined;
  listLinks(subscriptionId: string, resourceGroup: string, managedInstance: string): ArmLink[];
  /**
   * The mutating operations. Each is called when the long-running operation *completes*
   * (the endpoint decides how long that takes), and throws ArmError on a failed precondition.
   */
  setReplicationMode(link: ArmLink, mode: 'Async' | 'Sync'): void;
  deleteLink(link: ArmLink): void;
  failover(link: ArmLink, failoverType: 'Planned' | 'ForcedAllowDataLoss'): void;
  setRole(link: ArmLink, instanceRole: 'Primary' | 'Secondary', roleChangeType: 'Planned' | 'Forced'): void;
  /** Consulted once per incoming request; a returned fault is consumed. */
  nextFault(op: ArmOperation): ArmFault | undefined;
  /** For the lab's request log (tests check it like the statement log). */
  recordRequest(entry: { method: string; path: string; apiVersion: string; status: number }): void;
  /** A drill's hold on this request, before it acts or before its answer goes out; undefined when none. */
  hold?(method: string, path: string, phase: 'before' | 'after'): Promise<void> | undefined;
}

export interface ArmServerOptions {
  host?: string; // default 127.0.0.1
  port?: number; // default 0
  tls: { key: string; cert: string };
  /** The bearer token requests must carry; anything else is 401. */
  token: string;
  /**
   * Serve a Microsoft Entra token endpoint on the same host (lab/arm/entra.ts): a client with
   * this tenant, client id and secret gets `token` through the client credentials grant.
   */
  entra?: import('./entra.js').EntraOptions;
  backend: ArmBackend;
  /** How long a long-running operation stays "InProgress" (tests use a few ms). */
  lroDurationMs?: number;
  /** Retry-After seconds on 202 and poll responses (0 allowed; tests use 0). */
  retryAfterSeconds?: number;
}

export interface ArmServer {
  /** e.g. `https://localhost:43123` */
  endpoint: string;
  /** Keeps long-running operations in progress until called again with false (drills and tests). */
  holdOperations(on: boolean): void;
  /** TLS connections clients opened so far (each one a handshake; keep-alive reuses one). */
  connections(): number;
  close(): Promise<void>;
}
