// The run's ARM client: one @azure/arm-sql SqlManagementClient per run, built from the inventory,
// used for its pipeline only (credential, TLS trust, retry policy). Every request goes through
// `client.sendRequest` with api-version 2025-01-01 (LINK_API_VERSION), the stable version that has
// every operation the runbooks use (azure-rest-api-specs, Microsoft.Sql/stable/2025-01-01:
// DistributedAvailabilityGroups.json, ManagedInstances.json). None of the client's own operation
// methods is called: its 10.0.0 release pins 2021-11-01-preview, has no failover/setRole and
// drops the newer fields. No request of the engine uses another version; a status URL ARM hands
// back (Location, Azure-AsyncOperation) is followed as given.
//
// Every @azure package is imported dynamically inside the functions that need it, and the step
// modules (which `validate` and `plan` load) reach this file only through ../on-demand.ts, on a run's
// first request; what they need at load time (link ids, URLs) is in link-ids.ts.
// Type-only imports are erased by tsc.
import { readFile } from 'node:fs/promises';
import type { SqlManagementClient, SqlManagementClientOptionalParams } from '@azure/arm-sql';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { PipelineResponse } from '@azure/core-rest-pipeline';
import type { Inventory } from '../../core/types.js';
import { errorFromResponse, unreachable, type AttemptAnswers } from './errors.js';
import { markNoResend, noResendPolicy, watchAttempts } from './resend.js';
import { registerSecret } from '../../core/redact.js';
import { GuardRefusal } from '../../core/errors.js';
import { armEndpointOf, describeLink, instanceUrl, linkUrl, rememberEndpoint, type LinkIds } from './link-ids.js';
import { armSqlPackage, corePipelinePackage, identityPackage } from '../packages.js';
import type { ArmShared } from './shared-pipeline.js';

/** Token scope of the public cloud's Resource Manager. */
export const ARM_SCOPE = 'https://management.azure.com/.default';

export interface ArmRetryOptions {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
}

export interface ArmClientOptions {
  /** Pipeline retry policy; defaults come from RUNBOOK_ARM_* variables, else Azure's (3, 1s, 64s). */
  retry?: ArmRetryOptions;
  /** A wave's HTTP client, TLS settings and credentials, shared by its runs' clients (./shared-pipeline.ts). */
  shared?: ArmShared;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new Error(`${name} must be a whole number of milliseconds or retries, got "${raw}".`);
  return Number(raw.trim());
}

export function retryOptionsFrom(env: NodeJS.ProcessEnv, explicit: ArmRetryOptions = {}): ArmRetryOptions {
  const out: ArmRetryOptions = {
    maxRetries: explicit.maxRetries ?? envInt(env, 'RUNBOOK_ARM_MAX_RETRIES'),
    retryDelayInMs: explicit.retryDelayInMs ?? envInt(env, 'RUNBOOK_ARM_RETRY_DELAY_MS'),
    maxRetryDelayInMs: explicit.maxRetryDelayInMs ?? envInt(env, 'RUNBOOK_ARM_MAX_RETRY_DELAY_MS'),
  };
  for (const key of Object.keys(out) as Array<keyof ArmRetryOptions>) if (out[key] === undefined) delete out[key];
  return out;
}

/** A credential that hands out one bearer token read from the environment (the lab's). */
function staticTokenCredential(token: string): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
}

function normaliseEndpoint(endpoint: string | undefined): string {
  if (!endpoint) throw new Error('The inventory has no arm.endpoint.');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`The inventory's arm.endpoint "${endpoint}" is not a URL.`);
  }
  // The bearer-token policy refuses plain http; say so before it does, in our words.
  if (url.protocol !== 'https:') throw new Error(`The inventory's arm.endpoint must use https, got "${endpoint}".`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** The token scope for an endpoint: the public cloud's, or `<origin>/.default` for others. */
export function scopeFor(endpoint: string): string {
  const host = new URL(endpoint).hostname;
  return host === 'management.azure.com' ? ARM_SCOPE : `${new URL(endpoint).origin}/.default`;
}

async function credentialFor(inventory: Inventory, env: NodeJS.ProcessEnv, ca: string | undefined): Promise<TokenCredential> {
  const arm = inventory.arm;
  const kind = arm.credential ?? 'default';
  if (kind === 'tokenEnv') {
    if (!arm.tokenEnv) throw new Error('The inventory sets arm.credential: tokenEnv but names no variable in arm.tokenEnv.');
    const token = env[arm.tokenEnv];
    if (!token) throw new Error(`The ARM token variable ${arm.tokenEnv} is not set (inventory arm.tokenEnv).`);
    registerSecret(token);
    return staticTokenCredential(token);
  }
  if (kind !== 'default' && kind !== 'environment') throw new Error(`Unknown arm.credential "${String(kind)}"; use default, environment or tokenEnv.`);
  // The secret is never ours to print; should a library echo it, the redactor removes it.
  for (const name of ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PASSWORD']) if (env[name]) registerSecret(env[name]!);
  const { DefaultAzureCredential, EnvironmentCredential } = identityPackage();
  const options: import('@azure/identity').DefaultAzureCredentialClientIdOptions & { tlsOptions?: { ca: string } } = {};
  if (arm.authorityHost) {
    options.authorityHost = arm.authorityHost.replace(/\/+$/, '');
    // Instance discovery asks login.microsoftonline.com (a fixed address in msal) to vouch for the
    // authority; a host given here is trusted as written and its own OpenID metadata is read
    // instead (@azure/identity `disableInstanceDiscovery`, meant for private clouds and sovereign
    // hosts msal does not know).
    options.disableInstanceDiscovery = true;
    if (ca) options.tlsOptions = { ca };
  }
  // EnvironmentCredential reads the process environment; the run's `env` is what the operator
  // gave it (tests pass their own), so the variables it names are set from that.
  return withEnvironment(env, () => (kind === 'environment' ? new EnvironmentCredential(options) : new DefaultAzureCredential(options)));
}

const AZURE_IDENTITY_ENV = [
  'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN', 'AZURE_AUTHORITY_HOST',
  'AZURE_USERNAME', 'AZURE_PASSWORD', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_ADDITIONALLY_ALLOWED_TENANTS',
  'AZURE_TOKEN_CREDENTIALS',
];

/**
 * Makes a credential with process.env's identity variables taken from `env` (the credentials read
 * them when they are made), then puts process.env back as it was.
 */
function withEnvironment<T>(env: NodeJS.ProcessEnv, make: () => T): T {
  if (env === process.env) return make();
  const saved = new Map(AZURE_IDENTITY_ENV.map((k) => [k, process.env[k]]));
  try {
    for (const k of AZURE_IDENTITY_ENV) {
      if (env[k] === undefined) delete process.env[k];
      else process.env[k] = env[k];
    }
    return make();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * Loads the libraries the calls here import when first made (engine/drivers/on-demand.ts
 * loadDrivers): @azure/identity only for a credential that needs it (`identity`).
 */
export async function loadArmLibraries(identity: boolean): Promise<void> {
  // By require (../packages.ts): an ESM import here loaded a second copy of the pipeline.
  armSqlPackage();
  corePipelinePackage();
  if (identity) identityPackage();
}

/**
 * Builds the run's client. `tokenEnv` credentials read the token from `env` (never logged);
 * `default` uses DefaultAzureCredential (environment, workload identity, managed identity, az login).
 */
export async function createArmClient(
  inventory: Inventory,
  env: NodeJS.ProcessEnv,
  options: ArmClientOptions = {},
): Promise<SqlManagementClient> {
  const endpoint = normaliseEndpoint(inventory.arm?.endpoint);
  let ca: string | undefined;
  if (inventory.arm.caFile) {
    try {
      ca = await readFile(inventory.arm.caFile, 'utf8');
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      throw new Error(`Cannot read the ARM CA file ${inventory.arm.caFile} (inventory arm.caFile): ${code}.`);
    }
  }
  const shared = options.shared;
  const arm = inventory.arm;
  const credential = shared
    ? await shared.credential(JSON.stringify([arm.credential ?? 'default', arm.tokenEnv, arm.authorityHost, ca]), () => credentialFor(inventory, env, ca))
    : await credentialFor(inventory, env, ca);
  const { SqlManagementClient } = armSqlPackage();
  const clientOptions: SqlManagementClientOptionalParams = {
    // `endpoint` moves the requests; `$host` alone would not (facts §2.2).
    endpoint,
    credentialScopes: scopeFor(endpoint),
    retryOptions: retryOptionsFrom(env, options.retry),
    additionalPolicies: [{ policy: noResendPolicy(), position: 'perRetry' }],
    userAgentOptions: { userAgentPrefix: 'runbook' },
  };
  if (ca) clientOptions.tlsOptions = shared ? shared.tls(ca) : { ca };
  if (shared) clientOptions.httpClient = await shared.httpClient();
  const client = new SqlManagementClient(credential, inventory.link.managedInstance.subscriptionId, clientOptions);
  rememberEndpoint(client, endpoint);
  return client;
}

// ---------------------------------------------------------------- raw requests on the pipeline

export interface RawRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Mark a non-idempotent request so the pipeline's retry policy cannot re-send it. */
  noResend?: boolean;
  /** Filled with what each attempt got, the pipeline's re-sends included (resend.ts). */
  attempts?: AttemptAnswers;
}

/** Sends through the client's pipeline; HTTP errors come back as responses, network errors throw typed. */
export async function sendRaw(client: SqlManagementClient, req: RawRequest): Promise<PipelineResponse> {
  const { createPipelineRequest, createHttpHeaders } = corePipelinePackage();
  const request = createPipelineRequest({
    url: req.url,
    method: req.method,
    headers: createHttpHeaders(req.body === undefined ? {} : { 'content-type': 'application/json' }),
    body: req.body === undefined ? undefined : JSON.stringify(req.body),
    abortSignal: req.signal,
  });
  if (req.noResend) markNoResend(request, req.attempts);
  else if (req.attempts) watchAttempts(request, req.attempts);
  try {
    return await client.sendRequest(request);
  } catch (error) {
    const e = error as { name?: string };
    // A request refused before it was sent (a read step's PATCH: arm/read-only-arm.ts) stays what it is.
    if (e?.name === 'AbortError' || e?.name === 'ResendBlocked' || error instanceof GuardRefusal) throw error;
    if (typeof e?.name === 'string' && /CredentialUnavailable|Authentication/.test(e.name)) {
      const { fromSdkError } = await import('./errors.js');
      throw fromSdkError(error, req.url.split('?')[0], armEndpointOf(client));
    }
    throw unreachable(error, armEndpointOf(client));
  }
}

// ---------------------------------------------------------------- the link, new schema

export interface LinkDatabaseDetails {
  databaseName: string;
  replicaState?: string;
  synchronizationHealth?: string;
  connectedState?: string;
  /** LSNs stay text: they exceed 2^53. */
  lastReceivedLsn?: string;
  lastSentLsn?: string;
  lastCommitLsn?: string;
  lastHardenedLsn?: string;
  lastBackupLsn?: string;
  lastHardenedTime?: string;
}

export interface LinkDetails {
  id?: string;
  name: string;
  instanceLinkRole?: 'Primary' | 'Secondary';
  partnerLinkRole?: 'Primary' | 'Secondary';
  replicationMode?: string;
  failoverMode?: string;
  partnerAvailabilityGroupName?: string;
  instanceAvailabilityGroupName?: string;
  partnerEndpoint?: string;
  databases: LinkDatabaseDetails[];
}

const LSN_FIELDS = ['lastReceivedLsn', 'lastSentLsn', 'lastCommitLsn', 'lastHardenedLsn', 'lastBackupLsn'] as const;

/**
 * Parses a new-schema link body. LSNs sent as bare JSON numbers would lose digits in JSON.parse,
 * so they are quoted in the text first; ARM sends strings, this is only a guard.
 */
export function parseLinkBody(bodyText: string): LinkDetails {
  const guarded = bodyText.replace(/("\w*Lsn"\s*:\s*)(-?\d+)(?=\s*[,}])/g, '$1"$2"');
  const body = JSON.parse(guarded) as { id?: string; name?: string; properties?: Record<string, unknown> };
  const p = body.properties ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const databases = Array.isArray(p.databases) ? (p.databases as Array<Record<string, unknown>>) : [];
  const details: LinkDetails = {
    id: str(body.id),
    name: str(body.name) ?? str(p.distributedAvailabilityGroupName) ?? '',
    instanceLinkRole: str(p.instanceLinkRole) as LinkDetails['instanceLinkRole'],
    partnerLinkRole: str(p.partnerLinkRole) as LinkDetails['partnerLinkRole'],
    replicationMode: str(p.replicationMode),
    failoverMode: str(p.failoverMode),
    partnerAvailabilityGroupName: str(p.partnerAvailabilityGroupName),
    instanceAvailabilityGroupName: str(p.instanceAvailabilityGroupName),
    partnerEndpoint: str(p.partnerEndpoint),
    databases: databases.map((d) => {
      const db: LinkDatabaseDetails = {
        databaseName: str(d.databaseName) ?? '',
        replicaState: str(d.replicaState),
        synchronizationHealth: str(d.synchronizationHealth),
        connectedState: str(d.connectedState),
        lastHardenedTime: str(d.lastHardenedTime),
      };
      for (const f of LSN_FIELDS) if (d[f] !== undefined && d[f] !== null) db[f] = String(d[f]);
      return db;
    }),
  };
  for (const key of Object.keys(details) as Array<keyof LinkDetails>) if (details[key] === undefined) delete details[key];
  return details;
}

/** GET the link with the new api-version. Throws ArmNotFoundError on 404, typed errors otherwise. */
export async function getLinkDetails(
  client: SqlManagementClient,
  ids: LinkIds,
  options: { signal?: AbortSignal } = {},
): Promise<LinkDetails> {
  const res = await sendRaw(client, { method: 'GET', url: linkUrl(client, ids), signal: options.signal });
  if (res.status !== 200) throw errorFromResponse(res.status, res.bodyAsText, `link ${describeLink(ids)}`);
  try {
    return parseLinkBody(res.bodyAsText ?? '');
  } catch {
    throw new Error(`ARM returned a body for link ${describeLink(ids)} that is not the link resource.`);
  }
}

// ---------------------------------------------------------------- the managed instance

export interface InstanceDetails {
  name: string;
  /** properties.databaseFormat as sent (the update policy; ManagedInstances.json 2025-01-01). */
  databaseFormat?: string;
  state?: string;
  timezoneId?: string;
}

/** GET the managed instance (2025-01-01). Throws ArmNotFoundError on 404, typed errors otherwise. */
export async function getInstanceDetails(
  client: SqlManagementClient,
  ids: LinkIds,
  options: { signal?: AbortSignal } = {},
): Promise<InstanceDetails> {
  const res = await sendRaw(client, { method: 'GET', url: instanceUrl(client, ids), signal: options.signal });
  const what = `managed instance ${ids.managedInstance} (${ids.resourceGroup}/${ids.subscriptionId})`;
  if (res.status !== 200) throw errorFromResponse(res.status, res.bodyAsText, what);
  let body: { name?: unknown; properties?: Record<string, unknown> };
  try {
    body = JSON.parse(res.bodyAsText ?? '') as typeof body;
  } catch {
    throw new Error(`ARM returned a body for ${what} that is not the managed instance resource.`);
  }
  const p = body.properties ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const details: InstanceDetails = { name: str(body.name) ?? ids.managedInstance };
  if (str(p.databaseFormat)) details.databaseFormat = str(p.databaseFormat);
  if (str(p.state)) details.state = str(p.state);
  if (str(p.timezoneId)) details.timezoneId = str(p.timezoneId);
  return details;
}
