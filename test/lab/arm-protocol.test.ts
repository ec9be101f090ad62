// The endpoint's HTTP surface checked with plain HTTPS requests: auth, api-versions, routing,
// error bodies and headers, and the request log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:https';
import type { ArmFixture } from '../helpers/arm-backend.js';
import { managedInstance, resourceGroup, startArmFixture, subscriptionId, token } from '../helpers/arm-backend.js';

let lab: ArmFixture;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

function call(method: string, path: string, opts: { body?: string; auth?: string | null } = {}): Promise<Reply> {
  const url = new URL(path, lab.endpoint);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = opts.auth === undefined ? `Bearer ${token}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca: lab.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, text, json: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const base = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Sql/managedInstances/${managedInstance}/distributedAvailabilityGroups`;

function assertAzureError(reply: Reply, status: number, code: string) {
  assert.is(reply.status, status, reply.text);
  assert.is(reply.json.error.code, code);
  assert.type(reply.json.error.message, 'string');
  assert.match(String(reply.headers['content-type']), /^application\/json/);
  assert.match(String(reply.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/);
}

test.before(async () => {
  lab = await startArmFixture({ lroDurationMs: 0 });
});
test.after(async () => lab.close());

test('the endpoint is https://localhost:<port>', () => {
  assert.match(lab.endpoint, /^https:\/\/localhost:\d+$/);
});

test('no Authorization header, or a wrong token, is 401 AuthenticationFailed without the token', async () => {
  assertAzureError(await call('GET', `${base}?api-version=2025-01-01`, { auth: null }), 401, 'AuthenticationFailed');
  const wrong = await call('GET', `${base}?api-version=2025-01-01`, { auth: 'Bearer secret-guess-123' });
  assertAzureError(wrong, 401, 'AuthenticationFailed');
  assert.not.ok(wrong.text.includes('secret-guess-123'));
  assertAzureError(await call('GET', `${base}?api-version=2025-01-01`, { auth: `Basic ${token}` }), 401, 'AuthenticationFailed');
  assert.is((await call('GET', `${base}?api-version=2025-01-01`, { auth: `bearer ${token}` })).status, 200);
});

test('api-version: missing, unknown, and every supported one', async () => {
  assertAzureError(await call('GET', base), 400, 'MissingApiVersionParameter');
  const unknown = await call('GET', `${base}?api-version=2020-01-01`);
  assertAzureError(unknown, 400, 'InvalidApiVersionParameter');
  assert.match(unknown.json.error.message, /2021-11-01-preview/);
  for (const v of ['2021-11-01-preview', '2023-08-01', '2025-01-01', '2025-02-01-preview', '2025-08-01-preview', '2021-11-01-PREVIEW']) {
    const reply = await call('GET', `${base}?api-version=${v}`);
    assert.is(reply.status, 200, v);
    assert.is(reply.json.value.length, 1);
    assert.not.ok('nextLink' in reply.json);
  }
});

test('fixed path segments match case-insensitively; names are percent-decoded', async () => {
  const lower = base.replace('resourceGroups', 'resourcegroups').replace('Microsoft.Sql', 'microsoft.sql').replace('distributedAvailabilityGroups', 'DISTRIBUTEDAVAILABILITYGROUPS');
  const reply = await call('GET', `${lower}/dag%5Fsales?api-version=2025-01-01`);
  assert.is(reply.status, 200);
  assert.is(reply.json.name, 'dag_sales');
});

test('unknown routes are 404 InvalidResourceType; PUT explains that creating links is out of scope', async () => {
  assertAzureError(await call('GET', `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Sql/servers/x?api-version=2025-01-01`), 404, 'InvalidResourceType');
  assertAzureError(await call('POST', `${base}/dag_sales/addDatabases?api-version=2025-08-01-preview`, { body: '{}' }), 404, 'InvalidResourceType');
  const put = await call('PUT', `${base}/dag_new?api-version=2025-01-01`, { body: '{"properties":{}}' });
  assertAzureError(put, 400, 'OperationNotSupported');
  assert.match(put.json.error.message, /not supported by the runbook lab/);
  assertAzureError(await call('POST', `${base}?api-version=2025-01-01`, { body: '{}' }), 405, 'MethodNotAllowed');
});

test('malformed JSON is 400 InvalidRequestContent; PATCH needs replicationMode', async () => {
  assertAzureError(await call('PATCH', `${base}/dag_sales?api-version=2025-01-01`, { body: '{"properties":' }), 400, 'InvalidRequestContent');
  assertAzureError(await call('POST', `${base}/dag_sales/failover?api-version=2025-01-01`, { body: 'nope' }), 400, 'InvalidRequestContent');
  assertAzureError(await call('PATCH', `${base}/dag_sales?api-version=2025-01-01`, { body: '{"properties":{}}' }), 400, 'InvalidRequestContent');
  assertAzureError(await call('PATCH', `${base}/dag_sales?api-version=2025-01-01`, { body: '{"properties":{"replicationMode":"Fast"}}' }), 400, 'InvalidRequestContent');
  assert.equal(lab.backend.calls, []);
});

test('a PATCH answers 202 with Location, Azure-AsyncOperation and Retry-After; both URLs then report the result', async () => {
  const accepted = await call('PATCH', `${base}/dag_sales?api-version=2023-08-01`, { body: '{"properties":{"replicationMode":"sync"}}' });
  assert.is(accepted.status, 202);
  assert.is(accepted.text, '');
  assert.is(accepted.headers['retry-after'], '0');
  const location = new URL(String(accepted.headers.location));
  const asyncOp = new URL(String(accepted.headers['azure-asyncoperation']));
  assert.is(location.origin, lab.endpoint);
  assert.is(location.searchParams.get('api-version'), '2023-08-01');
  const opId = location.pathname.split('/').at(-1)!;
  assert.is(location.pathname, `/subscriptions/${subscriptionId}/providers/Microsoft.Sql/locations/westus/distributedAvailabilityGroupsOperationResults/${opId}`);
  assert.is(asyncOp.pathname, `/subscriptions/${subscriptionId}/providers/Microsoft.Sql/locations/westus/distributedAvailabilityGroupsAzureAsyncOperation/${opId}`);

  const status = await call('GET', asyncOp.pathname + asyncOp.search);
  assert.is(status.status, 200);
  assert.is(status.json.name, opId);
  assert.is(status.json.status, 'Succeeded');
  assert.ok(!Number.isNaN(Date.parse(status.json.startTime)) && !Number.isNaN(Date.parse(status.json.endTime)));
  const result = await call('GET', location.pathname + location.search);
  assert.is(result.status, 200);
  assert.is(result.json.properties.replicationMode, 'Sync');
  assert.equal(lab.backend.calls, ['update:dag_sales:Sync']);
});

test('operation URLs: unknown ids and other subscriptions are 404', async () => {
  const other = `/subscriptions/${subscriptionId}/providers/Microsoft.Sql/locations/westus/distributedAvailabilityGroupsOperationResults/0000?api-version=2025-01-01`;
  assertAzureError(await call('GET', other), 404, 'ResourceNotFound');
  const accepted = await call('DELETE', `${base}/dag_sales?api-version=2025-01-01`);
  assert.is(accepted.status, 202);
  const location = new URL(String(accepted.headers.location));
  const foreign = location.pathname.replace(subscriptionId, '99999999-1111-2222-3333-444444444444');
  assertAzureError(await call('GET', foreign + location.search), 404, 'ResourceNotFound');
  const done = await call('GET', location.pathname + location.search);
  assert.is(done.status, 204);
  assert.is(done.text, '');
  assert.is((await call('DELETE', `${base}/dag_sales?api-version=2025-01-01`)).status, 204);
});

test('every request is in the request log with its api-version and status, and never a token', async () => {
  const log = lab.backend.requests;
  assert.ok(log.length >= 20);
  assert.ok(log.some((r) => r.status === 401 && r.apiVersion === '2025-01-01'));
  assert.ok(log.some((r) => r.status === 400 && r.apiVersion === ''));
  assert.ok(log.every((r) => !JSON.stringify(r).includes(token)));
  assert.ok(log.every((r) => !r.path.includes('?')));
});

test.run();
