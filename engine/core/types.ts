// The contracts every part of the engine and every step type agrees on. Types only: importing
// this file loads nothing at run time, which keeps `validate` and `plan` free of drivers.

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
  /** `default` = DefaultAzureCredential; `tokenEnv` = a static bearer token from the environment (lab). */
  credential?: 'default' | 'tokenEnv';
  tokenEnv?: string;
  caFile?: string;
}

export interface Inventory {
  link: LinkSpec;
  arm: ArmSpec;
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
  steps: StepSpec[];
  /** Where the runbook came from, for diagnostics and the plan. */
  file: string;
}

// ---------------------------------------------------------------- step contract

export interface JsonSchema {
  [key: string]: unknown;
}

/** A value only known once earlier steps have run. Rendered as `(known after apply)`. */
export interface Unknown {
  unknown: true;
  /** What it depends on, e.g. `steps.before.outputs.secondary`. */
  from: string;
}

/** What the engine tells a step about the steps before it, to decide impact (e.g. armDeleteLink). */
export interface StepHistoryEntry {
  id: string;
  type: string;
  /** At plan time `will-run`/`may-run`; during apply `succeeded`/`failed`/`skipped`. */
  state: 'will-run' | 'may-run' | 'succeeded' | 'failed' | 'skipped';
}

export interface ImpactContext {
  history: StepHistoryEntry[];
}

export interface StepPlanContext {
  stepId: string;
  target?: ReplicaTarget;
  inventory: Inventory;
  /** The steps before this one as the plan sees them (will-run/may-run/skipped), when the engine passes it. */
  history?: StepHistoryEntry[];
}

/** What a step's plan() returns: shown to the operator, stored in the plan file. */
export interface StepPlanResult {
  /** One line, e.g. `FAILOVER link [dag1] on the primary`. */
  summary: string;
  /** Full SQL per replica when the step sends SQL (`--format sql` uses it). */
  sql?: Array<{ target: ReplicaTarget; text: string }>;
  /** Guards that apply, in words, e.g. `LSNs equal and unchanged for 30s`. */
  guards?: string[];
}

export interface Logger {
  /** A line of progress under the running step (listr2 output or a JSON event). */
  progress(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export interface StepRunContext {
  stepId: string;
  runId: string;
  target?: ReplicaTarget;
  inventory: Inventory;
  inputs: Record<string, unknown>;
  log: Logger;
  /** Aborted on Ctrl-C/SIGTERM or the step's timeout. Steps poll it at safe points. */
  signal: AbortSignal;
  /** Engine-owned, lazily opened, one per replica per run; see engine/drivers/run-resources.ts. */
  sql(side: ReplicaSide): Promise<import('mssql').ConnectionPool>;
  /** Engine-owned, lazily built, one per run. */
  arm(): Promise<import('@azure/arm-sql').SqlManagementClient>;
  /** `primary`/`secondary` resolved from the last role check (assertRole) or by probing. */
  resolveTarget(target: ReplicaTarget): Promise<ReplicaSide>;
  /** Outputs of earlier steps in this run. */
  outputs: Record<string, Record<string, unknown>>;
  history: StepHistoryEntry[];
  /** Test and drill knobs (poll intervals etc. are step inputs; this is for engine-wide scale). */
  env: NodeJS.ProcessEnv;
  /** Forget the cached roles behind `primary`/`secondary` (after a step that may change them). */
  invalidateRoles?(): void;
  /** `--yes` was given: gates such as `confirm` pass without asking. */
  assumeYes?: boolean;
  /** Asks the operator a yes/no question; absent when no one can be asked (no TTY). */
  confirm?(question: string): Promise<boolean>;
}

export interface OutputSpec {
  description: string;
}

export interface StepDefinition<Args = Record<string, unknown>> {
  type: string;
  description: string;
  /** JSON Schema of `with:`; every property has a `description`; `additionalProperties: false`. */
  withSchema: JsonSchema;
  impact: Impact | ((args: Args, ctx: ImpactContext) => Impact);
  /** Whether `target:` is required, optional or meaningless for this type. */
  target: 'required' | 'optional' | 'none';
  /**
   * For uses whose impact is `read`: how long a result recorded in the journal stays true, which
   * `apply --resume` needs to know. `moment` (the default): it describes the link at the moment the
   * step ran (roles, LSNs, backups, the link as ARM sees it), so a resume runs the step again when
   * it comes after the last change the journal shows done. `run`: it holds for the whole run (an
   * operator's confirmation, a message), so a resume keeps it. README, "apply --resume".
   */
  resultHolds?: 'moment' | 'run';
  outputs: Record<string, OutputSpec>;
  /** Read-only and pure: no I/O. Arguments may contain Unknown values. */
  plan(ctx: StepPlanContext, args: Args): StepPlanResult;
  run(ctx: StepRunContext, args: Args): Promise<Record<string, unknown>>;
  /**
   * Optional, for change and dataLoss steps: has this step's effect already happened? Read-only.
   * Called on resume for a step the journal shows started but not finished, and after an attempt
   * whose outcome is unknown (a dropped connection, a timeout). `done`: the engine records the
   * step as succeeded by verification and does not run it; `not-done`: it may run it again;
   * `unknown` (or throwing): the engine stops and tells the operator what to check, never
   * repeating the step blindly. See engine/apply/outcome.ts.
   */
  verify?(ctx: StepRunContext, args: Args): Promise<'done' | 'not-done' | 'unknown'>;
  /**
   * Optional, for `plan --probe`: look at the live replicas without changing anything and return
   * the outputs that can be known now (a subset of `outputs`), or undefined when nothing can.
   * Called only for uses whose impact resolves to `read`, with every argument known, and never
   * after a step that may change the link. Throw as run() would to predict a refusal or failure.
   */
  probe?(ctx: StepRunContext, args: Args): Promise<Record<string, unknown> | undefined>;
}

/** The registry's shape: step type -> lazy module whose default export is the definition. */
export type StepModuleMap = Record<string, () => Promise<{ default: StepDefinition<any> }>>;

/**
 * Connections a run opens lazily and closes at the end (engine/drivers/run-resources.ts implements it).
 * Apply creates one per run; tests may pass their own over a lab.
 */
export interface RunResources {
  sql(side: ReplicaSide): Promise<import('mssql').ConnectionPool>;
  arm(): Promise<import('@azure/arm-sql').SqlManagementClient>;
  /** Reads each reachable replica's link role; used to resolve `primary` / `secondary`. */
  resolveTarget(target: ReplicaTarget): Promise<ReplicaSide>;
  /** Forget cached roles (after a step that changes them). */
  invalidateRoles(): void;
  close(): Promise<void>;
}
