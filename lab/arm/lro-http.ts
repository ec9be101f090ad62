// The HTTP face of long-running operations: the 202 that accepts one, and the two polling URLs
// Microsoft.Sql hands out (OperationResults answers like the resource; AzureAsyncOperation
// answers with a status document).
import type { ApiVersionInfo } from './api-versions.js';
import { errorBody } from './errors.js';
import type { LroRecord, LroStore } from './operations.js';
import { asyncOperationType, operationResultsType } from './routes.js';
import { renderLink } from './schema.js';
import type { ArmResponse } from './response.js';
import { ArmError } from './contract.js';

/** Microsoft.Sql puts its operation URLs under a region; the lab lives in one. */
export const labLocation = 'westus';

export interface LroUrls {
  endpoint: string;
  retryAfterSeconds: number;
}

function operationPath(subscriptionId: string, type: string, id: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Sql/locations/${labLocation}/${type}/${id}`;
}

function operationUrl(urls: LroUrls, record: LroRecord, type: string, api: ApiVersionInfo): string {
  return `${urls.endpoint}${operationPath(record.subscriptionId, type, record.id)}?api-version=${api.version}`;
}

export function acceptedResponse(urls: LroUrls, record: LroRecord, api: ApiVersionInfo): ArmResponse {
  return {
    status: 202,
    headers: {
      location: operationUrl(urls, record, operationResultsType, api),
      'azure-asyncoperation': operationUrl(urls, record, asyncOperationType, api),
      'retry-after': String(urls.retryAfterSeconds),
    },
  };
}

function findOperation(lros: LroStore, subscriptionId: string, id: string): LroRecord {
  const record = lros.find(id);
  if (!record || record.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) {
    throw new ArmError(404, 'ResourceNotFound', `The operation '${id}' was not found.`);
  }
  return record;
}

/** OperationResults: 202 while running; then the operation's own result or its error. */
export function operationResultResponse(
  urls: LroUrls,
  lros: LroStore,
  subscriptionId: string,
  id: string,
  api: ApiVersionInfo,
): ArmResponse {
  const record = findOperation(lros, subscriptionId, id);
  const outcome = record.outcome;
  if (!outcome) {
    return {
      status: 202,
      headers: {
        location: operationUrl(urls, record, operationResultsType, api),
        'retry-after': String(urls.retryAfterSeconds),
      },
    };
  }
  if (outcome.status === 'Failed') return { status: outcome.error.status, body: errorBody(outcome.error) };
  if (record.kind === 'delete' || !outcome.link) return { status: 204 };
  return { status: 200, body: renderLink(outcome.link, api) };
}

/** AzureAsyncOperation: always 200 with `{name, status, startTime, endTime?, error?}`. */
export function asyncOperationResponse(
  urls: LroUrls,
  lros: LroStore,
  subscriptionId: string,
  id: string,
): ArmResponse {
  const record = findOperation(lros, subscriptionId, id);
  const outcome = record.outcome;
  const body: Record<string, unknown> = {
    id: operationPath(record.subscriptionId, asyncOperationType, record.id),
    name: record.id,
    status: outcome?.status ?? 'InProgress',
    startTime: record.startTime.toISOString(),
  };
  if (outcome) body.endTime = outcome.endTime.toISOString();
  if (outcome?.status === 'Failed') body.error = errorBody(outcome.error).error;
  const headers: Record<string, string> = outcome ? {} : { 'retry-after': String(urls.retryAfterSeconds) };
  return { status: 200, body, headers };
}
