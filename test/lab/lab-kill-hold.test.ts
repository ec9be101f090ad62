// Two lab controls through the real clients: KILL <session id> over mssql (6104 on one's own
// session, 6106 on one that does not exist; the killed session's app locks go at once, its socket
// right after the reply) and hold() (a SQL request, or an ARM one through @azure/arm-sql, pinned
// before it acts, or after it acted with its reply kept back, until released).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SqlManagementClient } from '@azure/arm-sql';
import { startLab, type Lab } from '../../lab/index.js';
import { LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION } from '../../lab/model/names.js';
import { connect, errorNumber, linkRole, poll, run } from '../helpers/lab.js';

let lab: Lab;
test.before(async () => {
  lab = await startLab({ scenario: 'healthy' });
});
test.after(async () => {
  await lab.stop();
});

const spidOf = async (pool: Awaited<ReturnType<typeof connect>>): Promise<number> => {
  try {
    return (await pool.request().query('SELECT @@SPID AS spid')).recordset[0].spid as number;
  } catch {
    return -1;
  }
};

test('KILL: 6104 on itself, 6106 on no such session; a killed holder loses its app lock within the same batch and its connection ends', async () => {
  const holder = await connect(lab, 'sqlServer', { appName: 'holder' });
  const dba = await connect(lab, 'sqlServer', { appName: 'dba' });
  try {
    const [[h]] = await run(holder, `DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'res', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @r AS r, @@SPID AS spid;`);
    assert.is(h.r, 0);
    const victim = Number(h.spid);
    const [[own]] = await run(dba, 'SELECT @@SPID AS spid');
    assert.is(await errorNumber(dba, `KILL ${Number(own.spid)}`), 6104);
    assert.is(await errorNumber(dba, 'KILL 999'), 6106);
    const [[taken]] = await run(dba, `KILL ${victim}; DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'res', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @r AS r;`);
    assert.is(taken.r, 0, 'the lock was free for the rest of the batch');
    assert.equal(lab.model.applocks.rows().map((r) => r.holder.programName), ['dba']);
    await poll(async () => {
      const now = await spidOf(holder);
      return now !== victim && now !== -1 ? true : undefined;
    }, 3000);
  } finally {
    await Promise.allSettled([holder.close(), dba.close()]);
  }
});

test('hold(): a request held before it runs has not acted; one held after it ran has acted but not answered', async () => {
  const a = await connect(lab, 'sqlServer');
  try {
    const before = lab.hold({ match: /SET \(ROLE = SECONDARY\)/, side: 'sqlServer' });
    const sent = run(a, 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)');
    assert.match(await before.reached, /ROLE = SECONDARY/);
    assert.is(lab.link().replicas.sqlServer.role, 'PRIMARY', 'held before it ran');
    let answered = false;
    void sent.then(() => (answered = true));
    before.release();
    await sent;
    assert.ok(answered);
    assert.is(lab.link().replicas.sqlServer.role, 'SECONDARY');

    const b = await connect(lab, 'managedInstance');
    try {
      const after = lab.hold({ match: /FORCE_FAILOVER_ALLOW_DATA_LOSS/, after: true });
      let replied = false;
      const forced = run(b, 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS').then(() => (replied = true));
      await after.reached;
      assert.is(lab.link().replicas.managedInstance.role, 'PRIMARY', 'it ran');
      assert.is(await linkRole(a), 'SECONDARY', 'another session is served meanwhile');
      assert.not.ok(replied, 'its reply is held');
      after.release();
      await forced;
      assert.ok(replied);
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
});

test('hold() on ARM: a DELETE held before it acts leaves the link; held after, the operation was accepted but not yet answered', async () => {
  const armLab = await startLab({ scenario: 'healthy', overrides: { arm: { lroDurationMs: 40, retryAfterSeconds: 0 } } });
  try {
    const token = armLab.env.LAB_ARM_TOKEN;
    const arm = new SqlManagementClient({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3.6e6 }) }, LAB_SUBSCRIPTION, {
      endpoint: armLab.endpoints.arm,
      tlsOptions: { ca: armLab.ca },
    });
    const before = armLab.hold({ arm: true, match: /^DELETE \/subscriptions\/.*\/dag1$/ });
    const after = armLab.hold({ arm: true, match: /^DELETE /, after: true });
    const deleting = arm.distributedAvailabilityGroups.beginDeleteAndWait(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1');
    assert.match(await before.reached, /^DELETE \/subscriptions\/00000000-0000-4000-8000-00000000ab01\/resourceGroups\/rg-runbook-lab\//);
    assert.not.ok(armLab.armRequests().some((r) => r.method === 'DELETE'), 'not answered, not even logged yet');
    before.release();
    await after.reached;
    assert.ok(armLab.armRequests().some((r) => r.method === 'DELETE' && r.status === 202), 'accepted (logged) but its answer is held');
    assert.ok(armLab.link().replicas.managedInstance.dagPresent, 'the delete has not completed: no poll has come yet');
    after.release();
    await deleting;
    assert.not.ok(armLab.link().replicas.managedInstance.dagPresent);
  } finally {
    await armLab.stop();
  }
});

test.run();
