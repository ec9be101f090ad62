// The distributedAvailabilityGroups operations: reads answer at once; PATCH, DELETE, failover and
// setRole check what can be checked now, then run as long-running operations.
import type { ApiVersionInfo } from './api-versions.js';
import { versionsWith } from './api-versions.js';
import { ArmError } from './contract.js';
import type { ArmBackend, ArmFault, ArmLink, ArmOperation } from './contract.js';
import { errorBody, invalidContent, parentNotFound, resourceNotFound } from './errors.js';
import { acceptedResponse } from './lro-http.js';
import type { LroUrls } from './lro-http.js';
import type { LroKind, LroRecord, LroStore } from './operations.js';
import type { ArmResponse } from './response.js';
import type { ArmRoute, InstanceScope } from './routes.js';
import { renderInstance, renderLink } from './schema.js';

export interface LinkRequest {
  method: string;
  route: Extract<ArmRoute, { kind: 'links' | 'link' | 'linkAction' }>;
  api: ApiVersionInfo;
  rawBody: string;
  backend: ArmBackend;
  lros: LroStore;
  urls: LroUrls;
}

const faultMessages: Record<number, string> = {
  429: 'The request is being throttled; retry after the interval in the Retry-After header.',
  500: 'The server encountered an internal error. Please retry the request.',
  503: 'The service is temporarily unavailable. Please retry the request.',
};

export function faultResponse(fault: Extract<ArmFault, { kind: 'status' }>): ArmResponse {
  const message = faultMessages[fault.status] ?? 'The request failed.';
  const headers: Record<string, string> =
    fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
  return { status: fault.status, body: errorBody(new ArmError(fault.status, fault.code, message)), headers };
}

function methodNotAllowed(method: string, allowed: string[]): ArmError {
  return new ArmError(405, 'MethodNotAllowed', `The HTTP method '${method}' is not supported for this resource; use ${allowed.join(', ')}.`);
}

/** Which ArmOperation a request is, or the error that rejects it before any fault or lookup. */
function classify(req: LinkRequest): ArmOperation {
  const { method, route, api } = req;
  if (route.kind === 'links') {
    if (method === 'GET') return 'list';
    throw methodNotAllowed(method, ['GET']);
  }
  if (route.kind === 'link') {
    if (method === 'GET') return 'get';
    if (method === 'PATCH') return 'update';
    if (method === 'DELETE') return 'delete';
    if (method === 'PUT') {
      throw new ArmError(
        400,
        'OperationNotSupported',
        'Creating or replacing a distributed availability group (link) is not supported by the runbook lab; ' +
          'links come from the lab scenario.',
      );
    }
    throw methodNotAllowed(method, ['GET', 'PATCH', 'DELETE']);
  }
  const feature = route.action === 'failover' ? 'hasFailover' : 'hasSetRole';
  if (!api[feature]) {
    throw new ArmError(
      400,
      'NoRegisteredProviderFound',
      `The action '${route.action}' of resource type 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups' ` +
        `is not available in api-version '${api.version}'. Supported api-versions: '${versionsWith(feature).join(', ')}'.`,
    );
  }
  if (method !== 'POST') throw methodNotAllowed(method, ['POST']);
  return route.action;
}

function parseBody(raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidContent('The request content was invalid and could not be deserialized: the body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidContent('The request content was invalid: a JSON object is expected.');
  }
  return value as Record<string, unknown>;
}

/** An enum property, matched case-insensitively as the RP does, returned in canonical spelling. */
function enumProperty<T extends string>(obj: Record<string, unknown> | undefined, name: string, values: readonly T[]): T {
  const raw = obj?.[name];
  if (raw === undefined || raw === null) throw invalidContent(`The property '${name}' is required (one of ${values.join(', ')}).`);
  const found = typeof raw === 'string' ? values.find((v) => v.toLowerCase() === raw.toLowerCase()) : undefined;
  if (!found) throw invalidContent(`The value of '${name}' is invalid; expected one of ${values.join(', ')}.`);
  return found;
}

function requireLink(backend: ArmBackend, scope: InstanceScope, name: string): ArmLink {
  const link = backend.getLink(scope.subscriptionId, scope.resourceGroup, scope.managedInstance, name);
  if (!link) throw resourceNotFound(scope.resourceGroup, scope.managedInstance, name);
  return link;
}

const ROLE_CHANGES: ReadonlySet<LroKind> = new Set(['failover', 'setRole']);

/**
 * The 409 a request gets while another operation runs on the link. Both codes are in the error
 * lists of DistributedAvailabilityGroups_Failover and _SetRole (azure-rest-api-specs,
 * Microsoft.Sql/stable/2025-01-01/DistributedAvailabilityGroups.json): a role change while a role
 * change runs is DistributedAvailabilityGroupSetRoleChangeRoleAlreadyInProgress ("Please wait for
 * the previous role change to complete and retry again"); anything else that overlaps is the
 * generic ConflictingServerOperation ("An operation is currently in progress for the server").
 */
function conflictWith(running: LroRecord, op: LroKind, name: string): ArmError {
  if (ROLE_CHANGES.has(op) && ROLE_CHANGES.has(running.kind)) {
    return new ArmError(
      409,
      'DistributedAvailabilityGroupSetRoleChangeRoleAlreadyInProgress',
      `Changing the server role cannot be executed at this time as there exist a previous role change (${running.kind}, id ${running.id}) ` +
        `in progress on distributed availability group '${name}'. Please wait for the previous role change to complete and retry again.`,
    );
  }
  return new ArmError(
    409,
    'ConflictingServerOperation',
    `An operation (${running.kind}, id ${running.id}) is currently in progress on distributed availability group '${name}'; retry when it completes.`,
  );
}

/**
 * The link as a GET shows it while `running` has not completed. During a failover or setRole the
 * databases report replicaState `LinkFailoverInProgress` ("Failover is in progress", the
 * replicaState values of MicrosoftDocs/sql-docs managed-instance-link-troubleshoot-how-to.md);
 * the roles change only when the operation completes. Sources are silent on what a link shows
 * while it is being deleted or updated, so it shows its plain state then.
 */
function asSeenDuring(link: ArmLink, running: LroRecord | undefined): ArmLink {
  if (!running || !ROLE_CHANGES.has(running.kind)) return link;
  return { ...link, databases: link.databases.map((d) => ({ ...d, replicaState: 'LinkFailoverInProgress' })) };
}

function linkKey(scope: InstanceScope, name: string): string {
  return [scope.subscriptionId, scope.resourceGroup, scope.managedInstance, name].join('/').toLowerCase();
}

export function handleLinkRequest(req: LinkRequest): ArmResponse {
  const { route, backend, api } = req;
  const op = classify(req);
  const fault = backend.nextFault(op);
  if (fault?.kind === 'status') return faultResponse(fault);
  const injectedFailure = fault?.kind === 'lroFails' ? { code: fault.code, message: fault.message } : undefined;

  const { scope } = route;
  if (!backend.hasManagedInstance(scope.subscriptionId, scope.resourceGroup, scope.managedInstance)) {
    throw parentNotFound(scope.resourceGroup, scope.managedInstance);
  }
  if (route.kind === 'links') {
    const links = backend.listLinks(scope.subscriptionId, scope.resourceGroup, scope.managedInstance);
    return { status: 200, body: { value: links.map((l) => renderLink(asSeenDuring(l, req.lros.inProgressFor(linkKey(scope, l.name))), api)) } };
  }
  const name = route.name;
  if (op === 'get') {
    const link = requireLink(backend, scope, name);
    return { status: 200, body: renderLink(asSeenDuring(link, req.lros.inProgressFor(linkKey(scope, name))), api) };
  }

  const existing = backend.getLink(scope.subscriptionId, scope.resourceGroup, scope.managedInstance, name);
  // Deleting what is not there succeeds at once: ARM's 204 "not found".
  if (op === 'delete' && !existing) return { status: 204 };
  if (!existing) throw resourceNotFound(scope.resourceGroup, scope.managedInstance, name);

  const body = op === 'delete' ? {} : parseBody(req.rawBody);
  const mutate = mutation(backend, op as LroKind, body);
  const key = linkKey(scope, name);
  const running = req.lros.inProgressFor(key);
  if (running) throw conflictWith(running, op as LroKind, name);
  const current = () => backend.getLink(scope.subscriptionId, scope.resourceGroup, scope.managedInstance, name);
  const record = req.lros.accept({
    kind: op as LroKind,
    subscriptionId: scope.subscriptionId,
    linkKey: key,
    injectedFailure,
    perform: () => {
      const link = current();
      if (!link) {
        if (op === 'delete') return undefined;
        throw resourceNotFound(scope.resourceGroup, scope.managedInstance, name);
      }
      mutate(link);
      // A snapshot: the result must not change when the model moves on. JSON copies plain data
      // and getters alike, and cannot throw after the mutation has already happened.
      const after = current();
      return after && (JSON.parse(JSON.stringify(after)) as ArmLink);
    },
  });
  return acceptedResponse(req.urls, record, api);
}

/** Validates the body now and returns the backend call to make when the operation completes. */
function mutation(backend: ArmBackend, op: LroKind, body: Record<string, unknown>): (link: ArmLink) => void {
  switch (op) {
    case 'delete':
      return (link) => backend.deleteLink(link);
    case 'update': {
      const properties = body.properties;
      if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) {
        throw invalidContent("The request must carry 'properties' with 'replicationMode', the only property of a link that can be updated.");
      }
      const mode = enumProperty(properties as Record<string, unknown>, 'replicationMode', ['Async', 'Sync'] as const);
      return (link) => backend.setReplicationMode(link, mode);
    }
    case 'failover': {
      const failoverType = enumProperty(body, 'failoverType', ['Planned', 'ForcedAllowDataLoss'] as const);
      return (link) => backend.failover(link, failoverType);
    }
    case 'setRole': {
      const instanceRole = enumProperty(body, 'instanceRole', ['Primary', 'Secondary'] as const);
      const roleChangeType = enumProperty(body, 'roleChangeType', ['Planned', 'Forced'] as const);
      if (instanceRole === 'Primary' && roleChangeType === 'Planned') {
        throw new ArmError(
          409,
          'DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported',
          "Changing the instance role to Primary is only supported with roleChangeType 'Forced'.",
        );
      }
      return (link) => backend.setRole(link, instanceRole, roleChangeType);
    }
  }
}

/** GET managedInstances/{mi}: the instance resource; nothing else is served on it. */
export function handleInstanceRequest(req: { method: string; scope: InstanceScope; backend: ArmBackend }): ArmResponse {
  if (req.method !== 'GET') throw methodNotAllowed(req.method, ['GET']);
  const fault = req.backend.nextFault('getInstance');
  if (fault?.kind === 'status') return faultResponse(fault);
  const { scope } = req;
  const mi = req.backend.getManagedInstance(scope.subscriptionId, scope.resourceGroup, scope.managedInstance);
  if (!mi) {
    throw new ArmError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.Sql/managedInstances/${scope.managedInstance}' under resource group '${scope.resourceGroup}' was not found.`,
    );
  }
  return { status: 200, body: renderInstance(mi) };
}
