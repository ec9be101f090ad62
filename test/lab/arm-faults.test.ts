// Scenario faults at the ARM endpoint as the real client experiences them: throttling and
// server errors go through arm-sql's retry policy; failing long-running operations surface as
// "The long-running operation has failed".
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isRestError } from '@azure/core-rest-pipeline';
import type { RestError } from '@azure/core-rest-pipeline';
import type { ArmFixture } from '../helpers/arm-backend.js';
import { managedInstance, resourceGroup, startArmFixture, subscriptionId } from '../helpers/arm-backend.js';
import { postAndPoll } from '../helpers/arm-lro.js';

let lab: ArmFixture;

const linkPath = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Sql/managedInstances/${managedInstance}/distributedAvailabilityGroups/dag_sales`;

function requestsSince(mark: number) {
  return lab.backend.requests.slice(mark).map((r) => `${r.method} ${r.status}`);
}

test.before(async () => {
  lab = await startArmFixture();
});
test.after(async () => lab.close());

test('a single 429 with Retry-After is retried transparently', async () => {
  lab.backend.queueFault('get', { kind: 'status', status: 429, code: 'SubscriptionTooManyRequests', retryAfterSeconds: 0 });
  const mark = lab.backend.requests.length;
  const dag = await lab.client().distributedAvailabilityGroups.get(resourceGroup, managedInstance, 'dag_sales');
  assert.is(dag.name, 'dag_sales');
  assert.equal(requestsSince(mark), ['GET 429', 'GET 200']);
});

test('persistent 500s surface as a RestError after the client has retried', async () => {
  const fault = { kind: 'status', status: 500, code: 'OperationTimedOut' } as const;
  lab.backend.queueFault('get', fault, fault, fault, fault, fault);
  const mark = lab.backend.requests.length;
  try {
    await lab.client().distributedAvailabilityGroups.get(resourceGroup, managedInstance, 'dag_sales');
    assert.unreachable('get should have failed');
  } catch (err) {
    assert.ok(isRestError(err));
    assert.is((err as RestError).statusCode, 500);
    assert.is((err as RestError).code, 'OperationTimedOut');
  }
  assert.equal(requestsSince(mark), ['GET 500', 'GET 500', 'GET 500', 'GET 500'], 'one try and three retries');
  lab.backend.faults.clear();
});

test('a 503 on a long-running operation is retried before it is accepted', async () => {
  lab.backend.queueFault('update', { kind: 'status', status: 503, code: 'ServiceUnavailable', retryAfterSeconds: 0 });
  const mark = lab.backend.requests.length;
  const dag = await lab
    .client()
    .distributedAvailabilityGroups.beginUpdateAndWait(resourceGroup, managedInstance, 'dag_sales', { replicationMode: 'Sync' }, { updateIntervalInMs: 10 });
  assert.is(dag.replicationMode, 'Sync');
  assert.equal(requestsSince(mark).slice(0, 2), ['PATCH 503', 'PATCH 202']);
  assert.equal(lab.backend.calls, ['update:dag_sales:Sync']);
});

test('lroFails on failover: accepted, then rejected with the code in the message', async () => {
  lab.backend.queueFault('failover', { kind: 'lroFails', code: 'OperationTimedOut', message: 'The failover did not complete in time.' });
  const mark = lab.backend.requests.length;
  try {
    await postAndPoll(lab.client(), `${lab.endpoint}${linkPath}/failover?api-version=2025-01-01`, { failoverType: 'Planned' });
    assert.unreachable('failover should have failed');
  } catch (err) {
    assert.match((err as Error).message, /The long-running operation has failed\. OperationTimedOut\. The failover did not complete in time\./);
  }
  assert.is(requestsSince(mark)[0], 'POST 202');
  assert.not.ok(lab.backend.calls.some((c) => c.startsWith('failover')), 'the backend never saw the failing failover');
});

test('lroFails on delete makes beginDeleteAndWait reject and keeps the link', async () => {
  lab.backend.queueFault('delete', { kind: 'lroFails', code: 'ManagedInstanceIsBusy', message: 'Busy.' });
  try {
    await lab.client().distributedAvailabilityGroups.beginDeleteAndWait(resourceGroup, managedInstance, 'dag_sales', { updateIntervalInMs: 10 });
    assert.unreachable('delete should have failed');
  } catch (err) {
    assert.match((err as Error).message, /The long-running operation has failed\. ManagedInstanceIsBusy\. Busy\./);
  }
  assert.ok(lab.backend.getLink(subscriptionId, resourceGroup, managedInstance, 'dag_sales'));
});

test('faults are consumed one per request: the next request is normal', async () => {
  lab.backend.queueFault('list', { kind: 'status', status: 429, code: 'SubscriptionTooManyRequests', retryAfterSeconds: 0 });
  const names: string[] = [];
  for await (const dag of lab.client().distributedAvailabilityGroups.listByInstance(resourceGroup, managedInstance)) names.push(dag.name!);
  assert.equal(names, ['dag_sales']);
  assert.is(lab.backend.faults.get('list')?.length, 0);
});

test.run();
