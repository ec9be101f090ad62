// The engine's shared vocabulary: diagnostics, inventories, runbooks, and the run's connections.
// The contract with step types lives in engine/step-api/types.ts. Types only: importing this file
// loads nothing at run time, which keeps `validate` and `plan` free of drivers.

/** A finding about the input, as data; renderers turn it into text or JSON. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Stable kebab-case id, e.g. `unknown-key`, `duplicate-step-id`, `undefined-variable`. */
  code: string;
  message: string;
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** JSON pointer into the document, e.g. `/steps/3/with/sql`. */
  path?: string;
}

export type Impact = 'read' | 'change' | 'dataLoss';

/** The two sides of a link, as named in inventories and runbooks. */
export type ReplicaSide = 'sqlServer' | 'managedInstance';
/** What a step's `target:` may say; role aliases are resolved at run time from the replicas' DMVs. */
export type ReplicaTarget = ReplicaSide | 'primary' | 'secondary';

// ---------------------------------------------------------------- inventory

export interface ConnectionSpec {
  host: string;
  port?: number;
  /** `sql` (login + passwordEnv), `entra` (@azure/identity DefaultAzureCredential), `ntlm`. */
  auth?: 'sql' | 'entra' | 'ntlm';
  user?: string;
  /** Name of the environment variable holding the password. Passwords are never inline. */
  passwordEnv?: string;
  /** Read the password from standard input at start (engine/core/secrets.ts); exclusive with passwordEnv. */
  passwordStdin?: boolean;
  domain?: string;
  /** Defaults to true. */
  encrypt?: boolean;
  trustServerCertificate?: boolean;
  /** PEM file of a CA to trust (the lab writes one). */
  caFile?: string;
  /** Host name to check the certificate against when `host` is an address. */
  serverName?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface SqlServerSide {
  /** Server name as it appears in the DMVs (replica_server_name of the AG). */
  name: string;
  /** The availability group on SQL Server that the link (DAG) joins. */
  agName: string;
  /** Major version and CU as the operator believes them; the runbooks re-check SERVERPROPERTY. */
  connection: ConnectionSpec;
}

export interface ManagedInstanceSide {
  /** Short MI name, e.g. `sqlmi1`. */
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  tier: 'GeneralPurpose' | 'BusinessCritical';
  /** FQDN the applications should point at after a failover to MI. */
  fqdn?: string;
  connection: ConnectionSpec;
}

export interface LinkSpec {
  /** The distributed availability group (link) name. */
  name: string;
  database: string;
  sqlServer: SqlServerSide;
  managedInstance: ManagedInstanceSide;
}

export interface ArmSpec {
  /** `https://management.azure.com` in Azure; the lab's HTTPS endpoint otherwise. */
  endpoint: string;
  /**
   * `default` = DefaultAzureCredential (environment, workload identity, managed identity, az login);
   * `environment` = EnvironmentCredential only (a service principal from AZURE_TENANT_ID,
   * AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or a certificate); `tokenEnv` = a static bearer token
   * from the environment (the lab and tests only).
   */
  credential?: 'default' | 'environment' | 'tokenEnv';
  /**
   * The Microsoft Entra authority host, e.g. https://login.microsoftonline.us for a national cloud,
   * or the lab's. Absent: the library's default (AZURE_AUTHORITY_HOST, else the public cloud).
   */
  authorityHost?: string;
  tokenEnv?: string;
  caFile?: string;
}

export interface Inventory {
  link: LinkSpec;
  arm: ArmSpec;
}

/** A fleet inventory: servers declared once, many links referring to them by key (engine/fleet/expand.ts). */
export interface FleetInventory {
  sqlServers: Record<string, { name?: string; connection: ConnectionSpec }>;
  managedInstances: Record<string, Omit<ManagedInstanceSide, 'name'> & { name?: string }>;
  links: FleetLinkSpec[];
  arm: ArmSpec;
}

export interface FleetLinkSpec {
  name: string;
  database: string;
  agName: string;
  /** Keys into `sqlServers` and `managedInstances`. */
  sqlServer: string;
  managedInstance: string;
}

// ---------------------------------------------------------------- runbook (after load + validate)

export interface InputSpec {
  type: 'string' | 'boolean' | 'integer' | 'number';
  enum?: Array<string | number | boolean>;
  default?: string | number | boolean;
  description?: string;
  /** Masked everywhere; plans and journals show `(secret)`; a resume needs it given again. */
  secret?: boolean;
  /** A string value may hold line breaks; without it one is refused (see template-helpers LINE_BREAK). */
  multiline?: boolean;
}

export interface RetrySpec {
  count: number;
  /** Duration text such as `2s`, `500ms`, `1m`. */
  delay?: string;
}

export interface StepSpec {
  id: string;
  type: string;
  description?: string;
  target?: ReplicaTarget;
  /** A template that renders to `true`/`false`. */
  when?: string;
  timeout?: string;
  retry?: RetrySpec;
  with: Record<string, unknown>;
}

export interface Runbook {
  name: string;
  description: string;
  inputs: Record<string, InputSpec>;
  plugins?: string[];
  /** Ends that would otherwise be broken promises, declared (split-brain after a forced failover); `runbook drill` reads them. */
  outcomes?: { splitBrain?: string };
  steps: StepSpec[];
  /** Where the runbook came from, for diagnostics and the plan. */
  file: string;
}

// ---------------------------------------------------------------- shared by the engine and the step contract

export interface JsonSchema {
  [key: string]: unknown;
}

/**
 * Connections a run opens lazily and closes at the end (engine/drivers/run-resources.ts implements it).
 * Apply creates one per run; tests may pass their own over a lab.
 */
/**
 * The lock check a T-SQL change batch carries to one replica, so that the server runs the change
 * only while the run's lock session still holds the link's lock (engine/drivers/sql/lock-guard.ts).
 */
export interface ChangeGuard {
  /**
   * The batches to send, in order, for one change batch; or why none may be sent (the lock cannot
   * be shown held). `lost` aborts once the lock is known lost: a request still in flight then is
   * cancelled, since the check at its head no longer covers the statements it has yet to run.
   */
  batches(batch: string): { send: string[]; lost?: AbortSignal } | { refused: string };
  /** When `error` (from sending those batches) is the check's refusal: why, in words; the run then handles its lock as lost. */
  refused(error: unknown): string | undefined;
  /**
   * The check exactly as `batches` writes it now, and the signal of the lock it checks; undefined
   * when no change may go. What tells a batch that carries the run's check from one that only
   * looks like it (engine/apply/step-pool.ts).
   */
  check(): { text: string; lost?: AbortSignal } | undefined;
}

export interface RunResources {
  sql(side: ReplicaSide): Promise<import('mssql').ConnectionPool>;
  arm(): Promise<import('@azure/arm-sql').SqlManagementClient>;
  /** Reads each reachable replica's link role; used to resolve `primary` / `secondary`. */
  resolveTarget(target: ReplicaTarget): Promise<ReplicaSide>;
  /** Forget cached roles (after a step that changes them). */
  invalidateRoles(): void;
  close(): Promise<void>;
}
