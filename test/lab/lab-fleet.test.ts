// The lab at fleet size: many links on one SQL Server and one managed instance endpoint, each link
// with its own DAG, AG and database, and a scenario per link. Real mssql and @azure/arm-sql clients.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, withStartedLab } from '../helpers/lab.js';

test('12 links share two listeners; link 7 lags, link 12 is split-brain, the rest are healthy', async () => {
  await withStartedLab({ fleet: true, links: 12, linkScenarios: { 7: 'lagging', 12: 'split-brain' }, overrides: { replication: { catchUpAfterMs: 60_000 } } }, async (lab) => {
    const ports = new Set(lab.endpoints.links.flatMap((l) => [l.sqlServer.port, l.managedInstance.port]));
    assert.is(ports.size, 2);
    assert.is(lab.inventories.length, 12);
    assert.equal(lab.inventories.map((i) => i.link.database).slice(0, 2), ['SalesDb1', 'SalesDb2']);
    assert.equal(Object.keys(lab.fleetInventory!.sqlServers), ['sql01']);
    assert.equal(lab.fleetInventory!.links[6], { name: 'dag7', database: 'SalesDb7', agName: 'ag7', sqlServer: 'sql01', managedInstance: 'sqlmi1' });
    const sqlServer = await connect(lab, 'sqlServer');
    const mi = await connect(lab, 'managedInstance');
    try {
      const groups = await sqlServer.request().query<{ name: string }>('SELECT name FROM sys.availability_groups ORDER BY name');
      assert.is(groups.recordset.length, 24, 'one DAG and one AG per link, on one server');
      const roles = async (pool: typeof sqlServer) =>
        (await pool.request().query<{ name: string; role: string }>(
          `SELECT ag.name, rs.role_desc AS role FROM sys.availability_groups ag JOIN sys.dm_hadr_availability_replica_states rs ON rs.group_id = ag.group_id
           WHERE ag.is_distributed = 1 AND rs.is_local = 1`,
        )).recordset;
      const onSql = new Map((await roles(sqlServer)).map((r) => [r.name, r.role]));
      const onMi = new Map((await roles(mi)).map((r) => [r.name, r.role]));
      // mssql's connect() logs in once to test the settings and once for its working connection.
      assert.equal(lab.logins(), { sql01: 2, sqlmi1: 2 }, 'logins counted per server');
      assert.is(onSql.get('dag1'), 'PRIMARY');
      assert.is(onMi.get('dag1'), 'SECONDARY');
      assert.is(onMi.get('dag12'), 'PRIMARY', 'split-brain: both primary');
      assert.is(onSql.get('dag12'), 'PRIMARY');
      assert.ok(lab.link('dag7').pending.length > 0, 'link 7 lags');
      assert.is(lab.link('dag1').pending.length, 0);
      // A statement about one link's group changes that link only.
      await sqlServer.request().batch(`ALTER AVAILABILITY GROUP [dag3] MODIFY AVAILABILITY GROUP ON 'ag3' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), 'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`);
      assert.is(lab.link('dag3').modesSeenBy('sqlServer').sqlServer, 'SYNCHRONOUS_COMMIT');
      assert.is(lab.link('dag2').modesSeenBy('sqlServer').sqlServer, 'ASYNCHRONOUS_COMMIT');
      const unknown = await sqlServer.request().batch('ALTER AVAILABILITY GROUP [dag99] FAILOVER').catch((e: { number?: number }) => e);
      assert.is((unknown as { number?: number }).number, 15151);
      // Two links' locks on one server session: different resources, both granted.
      const lock = (r: string) => sqlServer.request().query<{ r: number }>(`DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'${r}', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @r AS r`);
      assert.is((await lock('runbook:link:dag1')).recordset[0]!.r, 0);
      assert.is((await lock('runbook:link:dag2')).recordset[0]!.r, 0);
    } finally {
      await sqlServer.close();
      await mi.close();
    }
  });
});

test('a fleet lab takes up to 100 links; more is refused', async () => {
  await withStartedLab({ fleet: true, links: 100 }, async (lab) => {
    assert.is(lab.fleetInventory!.links.length, 100);
    const pool = await connect(lab, 'managedInstance');
    try {
      const n = await pool.request().query<{ n: number }>('SELECT COUNT(*) AS n FROM sys.availability_groups WHERE is_distributed = 1');
      assert.is(n.recordset[0]!.n, 100);
    } finally {
      await pool.close();
    }
  });
  const { startLab } = await import('../../lab/index.js');
  await startLab({ fleet: true, links: 101 }).then(() => assert.unreachable('101 links started'), (e: Error) => assert.match(e.message, 'links must be 1 to 100'));
});

test.run();
