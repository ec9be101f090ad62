// Test-side helpers for the operations arm-sql 10.0.0 lacks (failover, setRole, new-schema
// reads): requests go through the client's own pipeline (auth, TLS, retries) via sendRequest,
// and long-running ones are polled with @azure/core-lro's createHttpPoller.
import { createHttpPoller } from '@azure/core-lro';
import type { LongRunningOperation, LroResponse } from '@azure/core-lro';
import { RestError, createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import type { SqlManagementClient } from '@azure/arm-sql';

export interface RawArmResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export async function sendArm(
  client: SqlManagementClient,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
  url: string,
  body?: unknown,
): Promise<RawArmResponse> {
  const request = createPipelineRequest({
    url,
    method,
    headers: createHttpHeaders(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const res = await client.sendRequest(request);
  const text = res.bodyAsText ?? '';
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (res.status >= 300 && res.status !== 202) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new RestError(error?.message ?? `HTTP ${res.status}`, {
      code: error?.code,
      statusCode: res.status,
      request,
      response: res,
    });
  }
  return { status: res.status, headers: res.headers.toJSON(), body: parsed };
}

function toLroResponse(res: RawArmResponse): LroResponse<unknown> {
  return { flatResponse: res.body, rawResponse: { statusCode: res.status, headers: res.headers, body: res.body } };
}

/** POSTs an action and polls it to the end; resolves with the final body (the DAG for failover/setRole). */
export async function postAndPoll(
  client: SqlManagementClient,
  url: string,
  body: unknown,
  intervalInMs = 10,
): Promise<unknown> {
  const lro: LongRunningOperation<unknown> = {
    requestMethod: 'POST',
    requestPath: url,
    sendInitialRequest: async () => toLroResponse(await sendArm(client, 'POST', url, body)),
    sendPollRequest: async (path) => toLroResponse(await sendArm(client, 'GET', path)),
  };
  const poller = await createHttpPoller<unknown, any>(lro, { intervalInMs, resourceLocationConfig: 'location' });
  return poller.pollUntilDone();
}
