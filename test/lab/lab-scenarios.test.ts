// Each built-in scenario's distinguishing behaviour, seen the way a runbook sees it: through the
// real mssql client.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, errorNumber, linkRole, localLsns, poll, run, setMiReplicationMode, withStartedLab } from '../helpers/lab.js';

const toSync = `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON 'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), 'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`;

test('healthy: LSNs equal and unchanged, asynchronous, primary last_hardened_lsn NULL', () =>
  withStartedLab({}, async (lab) => {
    const p = await connect(lab, 'sqlServer');
    const s = await connect(lab, 'managedInstance');
    const a = [await localLsns(p), await localLsns(s)];
    await new Promise((r) => setTimeout(r, 100));
    const b = [await localLsns(p), await localLsns(s)];
    assert.equal(a, b);
    assert.is(a[0].endOfLog, a[1].hardened);
    assert.is(a[0].hardened, null);
    assert.is(a[1].sync, 'SYNCHRONIZING', 'an asynchronous secondary never reports SYNCHRONIZED');
    await run(p, toSync);
    assert.is((await localLsns(s)).sync, 'SYNCHRONIZING', "SQL Server's copy alone: the MI's copy is still asynchronous");
    await setMiReplicationMode(lab, 'Sync');
    assert.is((await localLsns(s)).sync, 'SYNCHRONIZED');
    await Promise.all([p.close(), s.close()]);
  }));

test('workload-running: LSNs keep moving and FAILOVER stays refused even in synchronous mode', () =>
  withStartedLab({ scenario: 'workload-running' }, async (lab) => {
    const p = await connect(lab, 'sqlServer');
    const first = (await localLsns(p)).endOfLog;
    const moved = await poll(async () => {
      const now = (await localLsns(p)).endOfLog;
      return now > first ? now : undefined;
    }, 3000);
    assert.ok(moved > first);
    await run(p, toSync);
    assert.is(await errorNumber(p, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER'), 41142);
    assert.ok(lab.ledger().committed > 0);
    await p.close();
  }));

test('lagging: behind, then caught up after catchUpAfterMs and stable', () =>
  withStartedLab({ scenario: 'lagging', overrides: { replication: { catchUpAfterMs: 400 } } }, async (lab) => {
    const p = await connect(lab, 'sqlServer');
    const s = await connect(lab, 'managedInstance');
    const behind = await localLsns(s);
    const primary = await localLsns(p);
    assert.ok(primary.endOfLog > behind.hardened!);
    const caught = await poll(async () => {
      const now = await localLsns(s);
      return now.hardened === primary.endOfLog ? now : undefined;
    }, 3000);
    assert.is(caught.hardened, primary.endOfLog);
    await Promise.all([p.close(), s.close()]);
  }));

test('split-brain: both replicas report PRIMARY for the link; 12 transactions counted lost', () =>
  withStartedLab({ scenario: 'split-brain' }, async (lab) => {
    const p = await connect(lab, 'sqlServer');
    const s = await connect(lab, 'managedInstance');
    assert.is(await linkRole(p), 'PRIMARY');
    assert.is(await linkRole(s), 'PRIMARY');
    const [[ledger]] = await run(s, 'SELECT lost, primary_replica FROM lab.ledger');
    assert.equal(ledger, { lost: '12', primary_replica: 'sql01,sqlmi1' });
    const [[conn]] = await run(p, `SELECT connected_state_desc AS c FROM sys.dm_hadr_availability_replica_states WHERE is_local = 0
      AND group_id IN (SELECT group_id FROM sys.availability_groups WHERE is_distributed = 1)`);
    assert.is(conn.c, 'DISCONNECTED');
    await Promise.all([p.close(), s.close()]);
  }));

test('sql2019: the server says 2019 and a T-SQL link FAILOVER is refused (41122)', () =>
  withStartedLab({ scenario: 'sql2019' }, async (lab) => {
    const p = await connect(lab, 'sqlServer');
    const [[v]] = await run(p, `SELECT @@VERSION AS v, SERVERPROPERTY('ProductMajorVersion') AS major`);
    assert.match(String(v.v), /SQL Server 2019/);
    assert.is(v.major, '15');
    await run(p, toSync);
    assert.is(await errorNumber(p, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER'), 41122);
    await p.close();
  }));

test("business-critical: the procedure's MI query reads five rows; its is_primary_replica = 1 filter keeps the MI's own AG row, not the link's", () =>
  withStartedLab({ scenario: 'business-critical' }, async (lab) => {
    const s = await connect(lab, 'managedInstance');
    const q = `SELECT CAST(drs.last_hardened_lsn AS varchar(30)) AS lsn FROM sys.dm_hadr_database_replica_states drs
      INNER JOIN sys.databases db ON db.database_id = drs.database_id WHERE db.name = 'SalesDb'`;
    const [all] = await run(s, q);
    assert.is(all.length, 5, 'three local secondaries, the AG row, the DAG row');
    // The documented filter: on an MI that is the link's secondary, the row it keeps is the MI's
    // own AG's, whose hardened LSN is its local secondaries' minimum, a transaction behind the link's.
    const [primary] = await run(s, `${q} AND drs.is_primary_replica = 1`);
    assert.equal(primary, [{ lsn: '71000009406500001' }]);
    const [link] = await run(s, `SELECT CAST(drs.last_hardened_lsn AS varchar(30)) AS lsn FROM sys.dm_hadr_database_replica_states drs
      JOIN sys.databases db ON db.database_id = drs.database_id JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
      WHERE ag.is_distributed = 1 AND ag.name = 'dag1' AND drs.is_local = 1 AND db.name = 'SalesDb'`);
    assert.equal(link, [{ lsn: '71000009408100001' }]);
    assert.is(lab.inventory.link.managedInstance.tier, 'BusinessCritical');
    await s.close();
  }));

test('several links: one listener pair per link, names dag2/sql02/ag2/sqlmi2, inventories with env references', () =>
  withStartedLab({ links: 2 }, async (lab) => {
    assert.is(lab.inventories.length, 2);
    const inv = lab.inventories[1];
    assert.is(inv.link.name, 'dag2');
    assert.is(inv.link.sqlServer.agName, 'ag2');
    assert.is(inv.link.sqlServer.connection.passwordEnv, 'LAB_SQL_PASSWORD');
    assert.is(inv.link.managedInstance.connection.passwordEnv, 'LAB_MI_PASSWORD');
    assert.is(inv.arm.tokenEnv, 'LAB_ARM_TOKEN');
    assert.is(inv.link.sqlServer.connection.caFile, lab.caFile);
    assert.ok(!JSON.stringify(lab.inventories).includes(lab.env.LAB_SQL_PASSWORD));
    const p = await connect(lab, 'sqlServer', { link: 1 });
    const [[row]] = await run(p, 'SELECT @@SERVERNAME AS s');
    assert.is(row.s, 'sql02');
    assert.is(await linkRole(p, 'dag2'), 'PRIMARY');
    const [ledger] = await run(p, 'SELECT link_name FROM lab.ledger ORDER BY link_name');
    assert.equal(ledger, [{ link_name: 'dag1' }, { link_name: 'dag2' }]);
    await p.close();
  }));

test.run();
