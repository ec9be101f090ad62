// Failovers through the real mssql client against startLab: planned (roles swap, nothing lost,
// sessions in the link database dropped, those in master kept), forced (exactly the unhardened
// transactions lost, split-brain), and the documented split-brain fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLab } from '../../lab/index.js';
import { connect, errorNumber, linkRole, localLsns, poll, run, setMiReplicationMode } from '../helpers/lab.js';

const toSync = `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON
    'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT),
    'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);`;

test('planned failover: sync, LSNs equal, FAILOVER on the primary swaps roles, zero lost; sessions in the link database are dropped, sessions in master stay', async () => {
  const lab = await startLab({ scenario: 'lagging', overrides: { replication: { catchUpAfterMs: 2500 } } });
  try {
    const sqlPool = await connect(lab, 'sqlServer');
    const miPool = await connect(lab, 'managedInstance');
    await run(sqlPool, `USE master; ${toSync}`);
    await setMiReplicationMode(lab, 'Sync');
    assert.is(await errorNumber(sqlPool, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER'), 41142, 'still behind');
    // Sessions in the availability database: by the login's initial database, and by USE.
    const sqlInDb = await connect(lab, 'sqlServer', { database: 'SalesDb' });
    const sqlUsed = await connect(lab, 'sqlServer');
    await run(sqlUsed, 'USE SalesDb;');
    const miInDb = await connect(lab, 'managedInstance', { database: 'SalesDb' });
    // Wait as a runbook would: primary end of log == secondary hardened.
    await poll(async () => {
      const p = await localLsns(sqlPool);
      const s = await localLsns(miPool);
      return p.endOfLog === s.hardened && s.sync === 'SYNCHRONIZED' ? true : undefined;
    }, 5000);
    const committed = lab.ledger().committed;
    const spid = async (pool: typeof sqlPool) => {
      try {
        return (await pool.request().query('SELECT @@SPID AS spid')).recordset[0].spid as number;
      } catch {
        return -1; // the request that met the dropped socket
      }
    };
    const inDb = [sqlInDb, sqlUsed, miInDb];
    const inMaster = [sqlPool, miPool];
    const before = await Promise.all(inDb.map(spid));
    const masterBefore = await Promise.all(inMaster.map(spid));
    await run(sqlPool, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER');
    // The sessions in SalesDb are dropped shortly after the reply, on both replicas (both changed
    // role): their pools end up on new sessions.
    await poll(async () => {
      const now = await Promise.all(inDb.map(spid));
      return now.every((n, i) => n !== before[i] && n !== -1) ? true : undefined;
    }, 3000);
    // The sessions in master are the same ones, before and after.
    assert.equal(await Promise.all(inMaster.map(spid)), masterBefore);
    assert.is(await linkRole(sqlPool), 'SECONDARY');
    assert.is(await linkRole(miPool), 'PRIMARY');
    assert.equal(lab.ledger(), { link: 'dag1', committed, lost: 0, lastCommittedLsn: lab.ledger().lastCommittedLsn });
    assert.is(lab.ledger().lost, 0);
    // Fail back from the MI (SQL Server 2022 keeps the link), over the same master session.
    await run(miPool, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER');
    assert.is(await linkRole(sqlPool), 'PRIMARY');
    assert.equal(await Promise.all(inMaster.map(spid)), masterBefore);
    await Promise.allSettled([...inMaster, ...inDb].map((p) => p.close()));
  } finally {
    await lab.stop();
  }
});

test('forced failover loses exactly the unhardened transactions and leaves split-brain; the documented fix resolves it', async () => {
  const lab = await startLab({
    scenario: 'healthy',
    overrides: { workload: { running: true, ratePerSecond: 200, stopAfterMs: 150 }, replication: { lagMs: 60_000 } },
  });
  try {
    await poll(() => (lab.ledger().committed === 30 ? true : undefined), 3000);
    const mi = await connect(lab, 'managedInstance');
    const before = await localLsns(mi);
    const sqlPool = await connect(lab, 'sqlServer');
    const primary = await localLsns(sqlPool);
    const unhardened = Number((primary.endOfLog - before.hardened!) / 1_600_000n);
    assert.is(unhardened, 30);
    await run(mi, 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS');
    assert.is(lab.ledger().lost, unhardened);
    const mi2 = await connect(lab, 'managedInstance');
    const [[ledger]] = await run(mi2, 'SELECT committed, lost FROM lab.ledger');
    assert.equal(ledger, { committed: '30', lost: '30' });
    assert.is(await linkRole(mi2), 'PRIMARY');
    assert.is(await linkRole(sqlPool), 'PRIMARY', 'split-brain: the old primary is up and still primary');
    // Fix: tail-log backup on the original primary, demote it, planned failover decides the survivor.
    await run(sqlPool, `BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/SalesDb_tail.trn' WITH NORECOVERY`);
    await run(sqlPool, 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)');
    const sql2 = await connect(lab, 'sqlServer');
    assert.is(await linkRole(sql2), 'SECONDARY');
    const [[backup]] = await run(sql2, `SELECT type FROM msdb.dbo.backupset WHERE database_name = 'SalesDb'`);
    assert.equal(backup, { type: 'L' });
    assert.is(lab.ledger().lost, 30, 'the fix loses nothing more');
    // The demoted former primary is suspended, then (the lab's default for a link) resumes.
    const state = async () => (await run(sql2, `SELECT drs.is_suspended, drs.suspend_reason_desc, drs.synchronization_state_desc AS s
      FROM sys.dm_hadr_database_replica_states drs JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
      WHERE ag.name = 'dag1' AND drs.is_local = 1`))[0][0];
    assert.equal(await state(), { is_suspended: true, suspend_reason_desc: 'SUSPEND_FROM_PARTNER', s: 'NOT SYNCHRONIZING' });
    await poll(async () => ((await state()).is_suspended === false ? true : undefined), 3000);
    assert.is((await state()).s, 'SYNCHRONIZING');
    await Promise.allSettled([mi.close(), mi2.close(), sqlPool.close(), sql2.close()]);
  } finally {
    await lab.stop();
  }
});

test('primary-down: the listener refuses; forced failover on the MI loses the 25; the old primary comes back primary', async () => {
  const lab = await startLab({ scenario: 'primary-down' });
  try {
    try {
      await connect(lab, 'sqlServer');
      assert.unreachable();
    } catch (e) {
      assert.match(String((e as Error).message), /ECONNRESET|ESOCKET|closed|Failed to connect|socket hang up/i);
    }
    const mi = await connect(lab, 'managedInstance');
    const [[conn]] = await run(mi, `SELECT connected_state_desc FROM sys.dm_hadr_availability_replica_states WHERE is_local = 1 AND group_id IN (SELECT group_id FROM sys.availability_groups WHERE is_distributed = 1)`);
    assert.is(conn.connected_state_desc, 'CONNECTED');
    await run(mi, 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS');
    assert.is(lab.ledger().lost, 25);
    lab.setDown('sqlServer', false);
    const sqlPool = await connect(lab, 'sqlServer');
    assert.is(await linkRole(sqlPool), 'PRIMARY');
    await Promise.allSettled([mi.close(), sqlPool.close()]);
  } finally {
    await lab.stop();
  }
});

test.run();
