// The lab's ARM endpoint as @azure/arm-sql 10.0.0 sees it: its own operations (old schema,
// api-version 2021-11-01-preview) over HTTPS with the lab CA, long-running ones included.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isRestError } from '@azure/core-rest-pipeline';
import type { RestError } from '@azure/core-rest-pipeline';
import type { ArmFixture } from '../helpers/arm-backend.js';
import { managedInstance, resourceGroup, sampleLink, startArmFixture } from '../helpers/arm-backend.js';

let lab: ArmFixture;

test.before(async () => {
  lab = await startArmFixture();
  lab.backend.links.push(sampleLink('dag_hr', { replicationMode: 'Sync' }));
});
test.after(async () => lab.close());

test('get returns the old schema with linkState and lastHardenedLsn', async () => {
  const dag = await lab.client().distributedAvailabilityGroups.get(resourceGroup, managedInstance, 'dag_sales');
  assert.is(dag.name, 'dag_sales');
  assert.is(dag.type, 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups');
  assert.ok(dag.id?.endsWith(`/managedInstances/${managedInstance}/distributedAvailabilityGroups/dag_sales`));
  assert.is(dag.linkState, 'Catchup');
  assert.is(dag.lastHardenedLsn, '71000009408100001');
  assert.is(dag.targetDatabase, 'sales');
  assert.is(dag.primaryAvailabilityGroupName, 'AG_sales');
  assert.is(dag.secondaryAvailabilityGroupName, 'AG_sales_mi');
  assert.is(dag.sourceEndpoint, 'TCP://sql01.contoso.local:5022');
  assert.is(dag.replicationMode, 'Async');
  const last = lab.backend.requests.at(-1)!;
  assert.equal(last, {
    method: 'GET',
    path: `/subscriptions/${lab.backend.instances[0]!.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Sql/managedInstances/${managedInstance}/distributedAvailabilityGroups/dag_sales`,
    apiVersion: '2021-11-01-preview',
    status: 200,
  });
});

test('listByInstance pages through every link of the instance', async () => {
  const names: string[] = [];
  for await (const dag of lab.client().distributedAvailabilityGroups.listByInstance(resourceGroup, managedInstance)) {
    names.push(dag.name!);
  }
  assert.equal(names.sort(), ['dag_hr', 'dag_sales']);
});

test('an unknown link is a RestError 404 ResourceNotFound', async () => {
  try {
    await lab.client().distributedAvailabilityGroups.get(resourceGroup, managedInstance, 'dag_missing');
    assert.unreachable('get should have failed');
  } catch (err) {
    assert.ok(isRestError(err), 'a RestError');
    const e = err as RestError;
    assert.is(e.statusCode, 404);
    assert.is(e.code, 'ResourceNotFound');
  }
});

test('an unknown managed instance is 404 ParentResourceNotFound', async () => {
  try {
    await lab.client().distributedAvailabilityGroups.get(resourceGroup, 'mi-other', 'dag_sales');
    assert.unreachable('get should have failed');
  } catch (err) {
    assert.is((err as RestError).statusCode, 404);
    assert.is((err as RestError).code, 'ParentResourceNotFound');
  }
});

test('a wrong token is 401 AuthenticationFailed and the token is not echoed', async () => {
  try {
    await lab.client('not-the-lab-token').distributedAvailabilityGroups.get(resourceGroup, managedInstance, 'dag_sales');
    assert.unreachable('get should have failed');
  } catch (err) {
    const e = err as RestError;
    assert.is(e.statusCode, 401);
    assert.is(e.code, 'AuthenticationFailed');
    assert.not.ok(e.response?.bodyAsText?.includes('not-the-lab-token'));
  }
  assert.is(lab.backend.requests.at(-1)!.status, 401);
});

test('beginUpdateAndWait switches replicationMode through the long-running operation', async () => {
  const result = await lab
    .client()
    .distributedAvailabilityGroups.beginUpdateAndWait(resourceGroup, managedInstance, 'dag_sales', { replicationMode: 'Sync' }, { updateIntervalInMs: 10 });
  assert.is(result.replicationMode, 'Sync');
  assert.is(result.linkState, 'Catchup');
  assert.equal(lab.backend.calls, ['update:dag_sales:Sync']);
  const patch = lab.backend.requests.find((r) => r.method === 'PATCH')!;
  assert.is(patch.status, 202);
  // The client followed Azure-AsyncOperation, then read the result from Location.
  assert.ok(lab.backend.requests.some((r) => r.path.includes('/distributedAvailabilityGroupsAzureAsyncOperation/')));
  assert.ok(lab.backend.requests.some((r) => r.path.includes('/distributedAvailabilityGroupsOperationResults/') && r.status === 200));
});

test('beginDeleteAndWait removes the link; deleting it again still succeeds (204)', async () => {
  const dags = lab.client().distributedAvailabilityGroups;
  await dags.beginDeleteAndWait(resourceGroup, managedInstance, 'dag_hr', { updateIntervalInMs: 10 });
  assert.is(lab.backend.getLink(lab.backend.instances[0]!.subscriptionId, resourceGroup, managedInstance, 'dag_hr'), undefined);
  assert.equal(lab.backend.calls.filter((c) => c.startsWith('delete')), ['delete:dag_hr']);
  const before = lab.backend.requests.length;
  await dags.beginDeleteAndWait(resourceGroup, managedInstance, 'dag_hr', { updateIntervalInMs: 10 });
  const again = lab.backend.requests.slice(before);
  assert.equal(again.map((r) => [r.method, r.status]), [['DELETE', 204]]);
  assert.equal(lab.backend.calls.filter((c) => c.startsWith('delete')), ['delete:dag_hr']);
});

test('a failed long-running operation surfaces as the client\'s "long-running operation has failed"', async () => {
  lab.backend.queueFault('update', { kind: 'lroFails', code: 'ManagedInstanceIsBusy', message: 'The instance is busy with another operation.' });
  try {
    await lab
      .client()
      .distributedAvailabilityGroups.beginUpdateAndWait(resourceGroup, managedInstance, 'dag_sales', { replicationMode: 'Async' }, { updateIntervalInMs: 10 });
    assert.unreachable('update should have failed');
  } catch (err) {
    assert.match((err as Error).message, /The long-running operation has failed\. ManagedInstanceIsBusy\. The instance is busy/);
  }
  const link = lab.backend.getLink(lab.backend.instances[0]!.subscriptionId, resourceGroup, managedInstance, 'dag_sales')!;
  assert.is(link.replicationMode, 'Sync', 'an injected failure does not reach the backend');
});

test.run();
