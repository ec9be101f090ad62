// Two lab controls through the real mssql client: KILL <session id> (6104 on one's own session,
// 6106 on one that does not exist; the killed session's app locks go at once, its socket right
// after the reply) and hold() (a request pinned before it runs, or after it ran with its reply
// kept back, until released).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLab, type Lab } from '../../lab/index.js';
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

test.run();
