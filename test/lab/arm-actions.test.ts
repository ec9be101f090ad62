// failover and setRole (absent from arm-sql 10.0.0) through the client's pipeline with
// sendRequest, polled with core-lro; new-schema reads; the long-running operation's timing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RestError } from '@azure/core-rest-pipeline';
import type { ArmFixture } from '../helpers/arm-backend.js';
import { managedInstance, resourceGroup, startArmFixture, subscriptionId } from '../helpers/arm-backend.js';
import { postAndPoll, sendArm } from '../helpers/arm-lro.js';

let lab: ArmFixture;
const api = '2025-01-01';

function linkUrl(name: string, suffix = ''): string {
  return (
    `${lab.endpoint}/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Sql` +
    `/managedInstances/${managedInstance}/distributedAvailabilityGroups/${name}${suffix}?api-version=${api}`
  );
}

async function rejects(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

test.before(async () => {
  lab = await startArmFixture({ lroDurationMs: 20 });
});
test.after(async () => lab.close());

test('a new-schema GET returns roles and databases[] with string LSNs', async () => {
  const res = await sendArm(lab.client(), 'GET', linkUrl('dag_sales'));
  assert.is(res.status, 200);
  const props = (res.body as { properties: Record<string, any> }).properties;
  assert.is(props.instanceLinkRole, 'Secondary');
  assert.is(props.partnerLinkRole, 'Primary');
  assert.is(props.failoverMode, 'Manual');
  assert.is(props.databases[0].databaseName, 'sales');
  assert.is(props.databases[0].lastHardenedLsn, '71000009408100001');
  assert.type(props.databases[0].lastHardenedLsn, 'string');
  assert.not.ok('linkState' in props, 'old-schema fields stay in the old api-version');
  assert.not.ok('linkMode' in props, 'linkMode only from 2025-08-01-preview');
});

test('2025-08-01-preview adds linkMode', async () => {
  const res = await sendArm(lab.client(), 'GET', linkUrl('dag_sales').replace(api, '2025-08-01-preview'));
  assert.is((res.body as { properties: Record<string, unknown> }).properties.linkMode, 'SingleDatabase');
});

test('planned failover swaps the roles; the backend is called exactly once', async () => {
  const dag = (await postAndPoll(lab.client(), linkUrl('dag_sales', '/failover'), { failoverType: 'Planned' })) as any;
  assert.is(dag.properties.instanceLinkRole, 'Primary');
  assert.is(dag.properties.partnerLinkRole, 'Secondary');
  assert.equal(lab.backend.calls, ['failover:dag_sales:Planned']);
  await sendArm(lab.client(), 'GET', linkUrl('dag_sales'));
  assert.equal(lab.backend.calls, ['failover:dag_sales:Planned']);
});

test('setRole to Secondary (Planned) runs and returns the link', async () => {
  const dag = (await postAndPoll(lab.client(), linkUrl('dag_sales', '/setRole'), { instanceRole: 'Secondary', roleChangeType: 'Planned' })) as any;
  assert.is(dag.properties.instanceLinkRole, 'Secondary');
  assert.is(lab.backend.calls.at(-1), 'setRole:dag_sales:Secondary:Planned');
});

test('setRole to Primary with Planned is refused at once with 409', async () => {
  const err = (await rejects(
    postAndPoll(lab.client(), linkUrl('dag_sales', '/setRole'), { instanceRole: 'Primary', roleChangeType: 'Planned' }),
  )) as RestError;
  assert.is(err.statusCode, 409);
  assert.is(err.code, 'DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported');
  assert.is(lab.backend.calls.at(-1), 'setRole:dag_sales:Secondary:Planned', 'no backend call');
});

test('a backend refusal at completion makes the operation Failed with its code', async () => {
  const err = await rejects(
    postAndPoll(lab.client(), linkUrl('dag_sales', '/setRole'), { instanceRole: 'Secondary', roleChangeType: 'Forced' }),
  );
  assert.match(err.message, /The long-running operation has failed\. DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole\./);
});

test('failover needs failoverType; unknown links are 404 before anything runs', async () => {
  const missing = (await rejects(postAndPoll(lab.client(), linkUrl('dag_sales', '/failover'), {}))) as RestError;
  assert.is(missing.statusCode, 400);
  assert.is(missing.code, 'InvalidRequestContent');
  const wrong = (await rejects(postAndPoll(lab.client(), linkUrl('dag_sales', '/failover'), { failoverType: 'Soon' }))) as RestError;
  assert.is(wrong.statusCode, 400);
  const unknown = (await rejects(postAndPoll(lab.client(), linkUrl('dag_nope', '/failover'), { failoverType: 'Planned' }))) as RestError;
  assert.is(unknown.statusCode, 404);
  assert.is(unknown.code, 'ResourceNotFound');
});

test('failover and setRole do not exist in 2021-11-01-preview', async () => {
  const err = (await rejects(
    postAndPoll(lab.client(), linkUrl('dag_sales', '/failover').replace(api, '2021-11-01-preview'), { failoverType: 'Planned' }),
  )) as RestError;
  assert.is(err.statusCode, 400);
  assert.is(err.code, 'NoRegisteredProviderFound');
});

test('the operation stays InProgress until lroDurationMs has passed, and one runs per link at a time', async () => {
  const slow = await startArmFixture({ lroDurationMs: 1500 });
  try {
    const client = slow.client();
    const base = linkUrl('dag_sales').replace(lab.endpoint, slow.endpoint).replace(`?api-version=${api}`, '');
    const accepted = await sendArm(client, 'POST', `${base}/failover?api-version=${api}`, { failoverType: 'Planned' });
    assert.is(accepted.status, 202);
    assert.is(accepted.headers['retry-after'], '0');
    const statusUrl = accepted.headers['azure-asyncoperation']!;
    const resultUrl = accepted.headers['location']!;
    assert.match(resultUrl, /\/providers\/Microsoft\.Sql\/locations\/[^/]+\/distributedAvailabilityGroupsOperationResults\/[0-9a-f-]+\?api-version=2025-01-01$/);
    assert.match(statusUrl, /\/distributedAvailabilityGroupsAzureAsyncOperation\/[0-9a-f-]+\?api-version=2025-01-01$/);

    const running = await sendArm(client, 'GET', statusUrl);
    assert.is((running.body as any).status, 'InProgress');
    assert.is((await sendArm(client, 'GET', resultUrl)).status, 202);
    assert.equal(slow.backend.calls, []);
    const conflict = (await rejects(sendArm(client, 'PATCH', `${base}?api-version=${api}`, { properties: { replicationMode: 'Sync' } }))) as RestError;
    assert.is(conflict.statusCode, 409);
    assert.is(conflict.code, 'ConflictingServerOperation');

    let status = 'InProgress';
    for (let i = 0; i < 300 && status === 'InProgress'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = ((await sendArm(client, 'GET', statusUrl)).body as any).status;
    }
    assert.is(status, 'Succeeded');
    const done = await sendArm(client, 'GET', statusUrl);
    assert.ok((done.body as any).endTime >= (done.body as any).startTime);
    const result = await sendArm(client, 'GET', resultUrl);
    assert.is(result.status, 200);
    assert.is((result.body as any).properties.instanceLinkRole, 'Primary');
    assert.equal(slow.backend.calls, ['failover:dag_sales:Planned']);
  } finally {
    await slow.close();
  }
});

test('during a failover: GET shows LinkFailoverInProgress, a second role change is 409 ...ChangeRoleAlreadyInProgress, a delete 409 ConflictingServerOperation', async () => {
  const slow = await startArmFixture({ lroDurationMs: 1500 });
  try {
    const client = slow.client();
    const url = (suffix = '') => linkUrl('dag_sales', suffix).replace(lab.endpoint, slow.endpoint);
    const accepted = await sendArm(client, 'POST', url('/failover'), { failoverType: 'Planned' });
    assert.is(accepted.status, 202);
    const during = (await sendArm(client, 'GET', url())).body as any;
    assert.equal(during.properties.databases.map((d: any) => d.replicaState), ['LinkFailoverInProgress']);
    assert.is(during.properties.instanceLinkRole, 'Secondary', 'the roles change when the operation completes');
    for (const [suffix, body] of [['/failover', { failoverType: 'Planned' }], ['/setRole', { instanceRole: 'Primary', roleChangeType: 'Forced' }]] as const) {
      const again = (await rejects(sendArm(client, 'POST', url(suffix), body))) as RestError;
      assert.is(again.statusCode, 409, suffix);
      assert.is(again.code, 'DistributedAvailabilityGroupSetRoleChangeRoleAlreadyInProgress', suffix);
    }
    const del = (await rejects(sendArm(client, 'DELETE', url()))) as RestError;
    assert.is(del.statusCode, 409);
    assert.is(del.code, 'ConflictingServerOperation');
    assert.equal(slow.backend.calls, [], 'nothing was acted on while the failover ran');

    const statusUrl = accepted.headers['azure-asyncoperation']!;
    let status = 'InProgress';
    for (let i = 0; i < 300 && status === 'InProgress'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = ((await sendArm(client, 'GET', statusUrl)).body as any).status;
    }
    assert.is(status, 'Succeeded');
    const after = (await sendArm(client, 'GET', url())).body as any;
    assert.is(after.properties.databases[0].replicaState, 'Catchup');
    assert.is(after.properties.instanceLinkRole, 'Primary');
    assert.equal(slow.backend.calls, ['failover:dag_sales:Planned']);
  } finally {
    await slow.close();
  }
});

test('held operations stay InProgress past their duration and complete once released', async () => {
  const fx = await startArmFixture({ lroDurationMs: 20 });
  try {
    const client = fx.client();
    const url = linkUrl('dag_sales', '/failover').replace(lab.endpoint, fx.endpoint);
    fx.holdOperations(true);
    const accepted = await sendArm(client, 'POST', url, { failoverType: 'Planned' });
    const statusUrl = accepted.headers['azure-asyncoperation']!;
    await new Promise((r) => setTimeout(r, 100));
    assert.is(((await sendArm(client, 'GET', statusUrl)).body as any).status, 'InProgress');
    assert.equal(fx.backend.calls, []);
    fx.holdOperations(false);
    assert.equal(fx.backend.calls, ['failover:dag_sales:Planned'], 'released: the due operation completes at once');
    assert.is(((await sendArm(client, 'GET', statusUrl)).body as any).status, 'Succeeded');
  } finally {
    await fx.close();
  }
});

test.run();
