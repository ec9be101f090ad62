// Scenario faults and app locks over real connections: dropped connection on the Nth matching
// statement, slow answers, a hang ended by the client's timeout, a replica down for a window,
// and session-owned app locks released when the holder's connection closes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLab, type Lab } from '../../lab/index.js';
import sql from 'mssql';
import { connect, errorNumber, poll, run } from '../helpers/lab.js';

let lab: Lab;
test.before(async () => {
  lab = await startLab({
    overrides: {
      faults: [
        { kind: 'dropConnection', replica: 'sqlServer', match: 'FROM sys\\.dm_hadr_database_replica_states', nth: 2 },
        { kind: 'slow', replica: 'managedInstance', match: 'slow_marker', delayMs: 300 },
        { kind: 'hang', replica: 'managedInstance', match: 'hang_marker' },
        { kind: 'replicaDown', replica: 'managedInstance', link: 0, fromMs: 60_000 },
      ],
    },
  });
});
test.after(async () => {
  await lab.stop();
});

const lsnQuery = 'SELECT COUNT(*) AS n FROM sys.dm_hadr_database_replica_states';

test('dropConnection: the 2nd matching statement loses its connection; the next one works', async () => {
  const p = await connect(lab, 'sqlServer');
  await run(p, lsnQuery);
  const err = await p.request().query(lsnQuery).then(() => undefined, (e: Error & { code?: string }) => e);
  assert.ok(err, 'the second one fails');
  assert.match(String(err!.code ?? err!.message), /ECONNRESET|ESOCKET|ECONNCLOSED|closed/i);
  const [[row]] = await run(p, lsnQuery);
  assert.ok((row.n as number) >= 1);
  await p.close();
  // The statement log keeps the dropped one, marked as never carried out (a drill counts re-sends by it).
  const logged = lab.statements().filter((s) => s.statement === lsnQuery);
  assert.equal(logged.map((s) => s.notCarriedOut), [undefined, 'dropped', undefined]);
});

test('slow answers arrive late but arrive', async () => {
  const s = await connect(lab, 'managedInstance');
  const t0 = Date.now();
  const [[row]] = await run(s, `SELECT 1 AS slow_marker`);
  assert.is(row.slow_marker, 1);
  assert.ok(Date.now() - t0 >= 250);
  await s.close();
});

test('a hang is ended by the client request timeout (cancel)', async () => {
  const s = await connect(lab, 'managedInstance', { requestTimeout: 300 });
  const err = await s.request().query(`SELECT 2 AS hang_marker`).then(() => undefined, (e: Error & { code?: string }) => e);
  assert.is(err?.code, 'ETIMEOUT');
  const [[row]] = await run(s, 'SELECT 3 AS after_hang');
  assert.is(row.after_hang, 3);
  await s.close();
  assert.is(lab.statements().find((e) => /hang_marker/.test(e.statement))?.notCarriedOut, 'hung');
});

test('a replica taken down refuses connections and comes back', async () => {
  lab.setDown('managedInstance', true);
  const refused = await connect(lab, 'managedInstance').then((p) => p.close().then(() => false), () => true);
  assert.ok(refused);
  lab.setDown('managedInstance', false);
  const s = await connect(lab, 'managedInstance');
  await run(s, 'SELECT 1 AS ok');
  await s.close();
});

test('sp_getapplock: a second session is refused, sees the holder in lab.applocks, and gets it after the holder disconnects', async () => {
  const getLock = `DECLARE @r int;
    EXEC @r = sp_getapplock @Resource = N'runbook:dag1', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
    SELECT @r AS result;`;
  const holder = await connect(lab, 'sqlServer', { appName: 'runbook apply planned-failover' });
  await run(holder, `EXEC sp_set_session_context @key = N'description', @value = N'planned failover run 42 by alice'`);
  const [[granted]] = await run(holder, getLock);
  assert.is(granted.result, 0);
  const other = await connect(lab, 'sqlServer', { appName: 'second operator' });
  const [[refused]] = await run(other, getLock);
  assert.is(refused.result, -1);
  const [[who]] = await run(other, `SELECT resource, lock_mode, login, program_name, description, session_id FROM lab.applocks WHERE resource = N'runbook:dag1'`);
  assert.equal({ ...who, session_id: undefined }, {
    resource: 'runbook:dag1', lock_mode: 'Exclusive', login: 'runbook', program_name: 'runbook apply planned-failover',
    description: 'planned failover run 42 by alice', session_id: undefined,
  });
  const [[spid]] = await run(holder, 'SELECT @@SPID AS spid');
  assert.is(who.session_id, spid.spid);
  await holder.close();
  const [[now]] = await poll(async () => {
    const r = await run(other, getLock);
    return r[0][0].result === 0 ? r : undefined;
  }, 3000);
  assert.is(now.result, 0);
  const [[released]] = await run(other, `DECLARE @r int; EXEC @r = sp_releaseapplock @Resource = N'runbook:dag1', @LockOwner = 'Session'; SELECT @r AS result;`);
  assert.is(released.result, 0);
  await other.close();
});

test('APPLOCK_MODE: the session holding the lock sees Exclusive, another session, another database, another spelling or the Transaction owner see NoLock; after the release NoLock', async () => {
  const holder = await connect(lab, 'sqlServer', { appName: 'applock-mode holder' });
  const other = await connect(lab, 'sqlServer', { appName: 'applock-mode other' });
  const mode = async (pool: sql.ConnectionPool, resource: string, owner = 'Session') =>
    (await pool.request().input('resource', sql.NVarChar, resource).input('owner', sql.NVarChar, owner).query(`SELECT APPLOCK_MODE('public', @resource, @owner) AS mode;`)).recordset[0].mode;
  try {
    assert.is(await mode(holder, 'mode:dag1'), 'NoLock');
    const [[granted]] = await run(holder, `DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'mode:dag1', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @r AS result;`);
    assert.is(granted.result, 0);
    assert.is(await mode(holder, 'mode:dag1'), 'Exclusive');
    assert.is(await mode(other, 'mode:dag1'), 'NoLock', 'the mode held by the caller, not by anyone');
    assert.is(await mode(holder, 'MODE:DAG1'), 'NoLock', 'resource names are binary compared');
    assert.is(await mode(holder, 'mode:dag1', 'Transaction'), 'NoLock');
    const [[literal]] = await run(holder, `SELECT APPLOCK_MODE(N'public', N'mode:dag1', N'Session')`);
    assert.equal(Object.values(literal), ['Exclusive'], 'without an alias the column has no name');
    const [[elsewhere]] = await run(holder, `USE msdb; SELECT APPLOCK_MODE('public', 'mode:dag1', 'Session') AS mode; USE master;`);
    assert.is(elsewhere.mode, 'NoLock', 'application locks are per database');
    assert.is(await errorNumber(holder, `SELECT APPLOCK_MODE('public', 'mode:dag1')`), 174);
    await run(holder, `EXEC sp_releaseapplock @Resource = N'mode:dag1', @LockOwner = 'Session'`);
    assert.is(await mode(holder, 'mode:dag1'), 'NoLock');
  } finally {
    await holder.close();
    await other.close();
  }
});

test.run();
