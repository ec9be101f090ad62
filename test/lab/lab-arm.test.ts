// The lab's ARM side through the real @azure/arm-sql 10.0.0 client: the MI's view of the link,
// PATCH replicationMode, failover/setRole, DELETE as a long-running operation, faults; each
// checked against what T-SQL shows on the replicas.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SqlManagementClient } from '@azure/arm-sql';
import type { RestError } from '@azure/core-rest-pipeline';
import { startLab, type Lab, type StartLabOptions } from '../../lab/index.js';
import { LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION } from '../../lab/model/names.js';
import { postAndPoll, sendArm } from '../helpers/arm-lro.js';
import { connect, linkRole, run } from '../helpers/lab.js';

const fast: StartLabOptions['overrides'] = { arm: { lroDurationMs: 40, retryAfterSeconds: 0 } };

function client(lab: Lab): SqlManagementClient {
  const token = lab.env.LAB_ARM_TOKEN;
  return new SqlManagementClient({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3.6e6 }) }, LAB_SUBSCRIPTION, {
    endpoint: lab.endpoints.arm,
    tlsOptions: { ca: lab.ca },
    retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  });
}

const url = (lab: Lab, suffix = '', api = '2025-01-01') =>
  `${lab.endpoints.arm}/subscriptions/${LAB_SUBSCRIPTION}/resourceGroups/${LAB_RESOURCE_GROUP}/providers/Microsoft.Sql` +
  `/managedInstances/sqlmi1/distributedAvailabilityGroups/dag1${suffix}?api-version=${api}`;

test('GET (old and new schema) shows the MI side of the link with exact string LSNs', async () => {
  const lab = await startLab({ scenario: 'lagging', overrides: { ...fast, replication: { catchUpAfterMs: 60_000 } } });
  try {
    const dag = await client(lab).distributedAvailabilityGroups.get(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1');
    assert.is(dag.lastHardenedLsn, '71000009408100001');
    assert.is(dag.replicationMode, 'Async');
    const fresh = (await sendArm(client(lab), 'GET', url(lab))).body as { properties: Record<string, any> };
    assert.is(fresh.properties.instanceLinkRole, 'Secondary');
    assert.is(fresh.properties.partnerLinkRole, 'Primary');
    assert.is(fresh.properties.databases[0].lastHardenedLsn, '71000009408100001');
    assert.is(fresh.properties.databases[0].lastCommitLsn, '71000009408100001');
    assert.is(fresh.properties.failoverMode, 'Manual');
    assert.ok(lab.armRequests().length >= 2);
  } finally {
    await lab.stop();
  }
});

test("PATCH replicationMode changes the MI's copy only; planned failover once both copies are synchronous; setRole; each as T-SQL shows it", async () => {
  const lab = await startLab({ overrides: fast });
  try {
    const c = client(lab);
    try {
      await postAndPoll(c, url(lab, '/failover'), { failoverType: 'Planned' });
      assert.unreachable();
    } catch (e) {
      // Preconditions are checked when the operation runs, so the poller reports the failure.
      assert.match((e as Error).message, /DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing/);
    }
    await c.distributedAvailabilityGroups.beginUpdateAndWait(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1', { replicationMode: 'Sync' }, { updateIntervalInMs: 10 });
    const modesQuery = `SELECT ar.availability_mode_desc AS m FROM sys.availability_replicas ar
      JOIN sys.availability_groups ag ON ag.group_id = ar.group_id WHERE ag.is_distributed = 1`;
    // PATCH changes the MI's copy of the DAG (its own DMV shows it), not SQL Server's.
    const miPool = await connect(lab, 'managedInstance');
    assert.equal((await run(miPool, modesQuery))[0], [{ m: 'SYNCHRONOUS_COMMIT' }, { m: 'SYNCHRONOUS_COMMIT' }]);
    await miPool.close();
    const sqlPool = await connect(lab, 'sqlServer');
    assert.equal((await run(sqlPool, modesQuery))[0], [{ m: 'ASYNCHRONOUS_COMMIT' }, { m: 'ASYNCHRONOUS_COMMIT' }]);
    await postAndPoll(c, url(lab, '/failover'), { failoverType: 'Planned' }).then(
      () => assert.unreachable('planned failover with SQL Server still asynchronous'),
      (e: Error) => assert.match(e.message, /DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing/),
    );
    await run(sqlPool, `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON
      'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), 'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`);
    assert.equal((await run(sqlPool, modesQuery))[0], [{ m: 'SYNCHRONOUS_COMMIT' }, { m: 'SYNCHRONOUS_COMMIT' }]);
    await sqlPool.close();
    const after = (await postAndPoll(c, url(lab, '/failover'), { failoverType: 'Planned' })) as { properties: Record<string, string> };
    assert.is(after.properties.instanceLinkRole, 'Primary');
    const mi = await connect(lab, 'managedInstance');
    assert.is(await linkRole(mi), 'PRIMARY');
    await mi.close();
    const refused = postAndPoll(c, url(lab, '/setRole'), { instanceRole: 'Primary', roleChangeType: 'Forced' });
    await refused.then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole/));
    await postAndPoll(c, url(lab, '/setRole'), { instanceRole: 'Secondary', roleChangeType: 'Forced' });
    const mi2 = await connect(lab, 'managedInstance');
    assert.is(await linkRole(mi2), 'SECONDARY');
    await mi2.close();
    assert.is(lab.ledger().lost, 0);
  } finally {
    await lab.stop();
  }
});

test('beginDeleteAndWait removes the MI side only; SQL Server keeps its DAG until DROP AVAILABILITY GROUP', async () => {
  const lab = await startLab({ overrides: fast });
  try {
    const c = client(lab);
    await c.distributedAvailabilityGroups.beginDeleteAndWait(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1', { updateIntervalInMs: 10 });
    const gone = await c.distributedAvailabilityGroups.get(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1').catch((e: RestError) => e);
    assert.is((gone as RestError).statusCode, 404);
    const mi = await connect(lab, 'managedInstance');
    const [miGroups] = await run(mi, 'SELECT name FROM sys.availability_groups WHERE is_distributed = 1');
    assert.equal(miGroups, []);
    const sqlPool = await connect(lab, 'sqlServer');
    const [sqlGroups] = await run(sqlPool, 'SELECT name FROM sys.availability_groups WHERE is_distributed = 1');
    assert.equal(sqlGroups, [{ name: 'dag1' }]);
    await run(sqlPool, 'USE master; DROP AVAILABILITY GROUP [dag1];');
    const [[count]] = await run(sqlPool, 'SELECT COUNT(*) AS n FROM sys.availability_groups WHERE is_distributed = 1');
    assert.is(count.n, 0);
    await Promise.all([mi.close(), sqlPool.close()]);
    assert.ok(lab.armRequests().some((r) => r.method === 'DELETE' && r.status === 202));
  } finally {
    await lab.stop();
  }
});

test('the link deleted through ARM while the MI lags: the transactions it had not hardened are counted lost in lab.ledger', async () => {
  const lab = await startLab({ scenario: 'lagging', overrides: { ...fast, replication: { catchUpAfterMs: 60_000 } } });
  try {
    await client(lab).distributedAvailabilityGroups.beginDeleteAndWait(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1', { updateIntervalInMs: 10 });
    assert.is(lab.ledger().lost, 40);
    const sqlPool = await connect(lab, 'sqlServer');
    const [[ledger]] = await run(sqlPool, 'SELECT committed, lost FROM lab.ledger');
    assert.equal(ledger, { committed: '40', lost: '40' });
    // SQL Server's DAG goes next; nothing was left in flight, so nothing more is lost.
    await run(sqlPool, 'USE master; DROP AVAILABILITY GROUP [dag1];');
    await sqlPool.close();
    assert.is(lab.ledger().lost, 40);
  } finally {
    await lab.stop();
  }
});

test('scenario ARM faults: a 429 is retried by the client; a failing long-running operation fails', async () => {
  const lab = await startLab({
    overrides: {
      ...fast,
      faults: [
        { kind: 'armStatus', op: 'get', status: 429, retryAfterSeconds: 0 },
        { kind: 'armLroFails', op: 'delete', code: 'OperationTimedOut', message: 'The operation timed out.' },
      ],
    },
  });
  try {
    const c = client(lab);
    const dag = await c.distributedAvailabilityGroups.get(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1');
    assert.is(dag.name, 'dag1');
    assert.equal(lab.armRequests().slice(0, 2).map((r) => r.status), [429, 200]);
    const failed = await c.distributedAvailabilityGroups
      .beginDeleteAndWait(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1', { updateIntervalInMs: 10 })
      .then(() => undefined, (e: Error) => e);
    assert.ok(failed, 'the delete fails');
    assert.ok(lab.link().replicas.managedInstance.dagPresent, 'and the link is still there');
  } finally {
    await lab.stop();
  }
});

test.run();
