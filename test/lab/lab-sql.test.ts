// startLab end to end with the real mssql client: logins, the procedure's DMV queries as a DBA
// pastes them, exact LSNs, HADR statements and their refusals, observability tables.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sql from 'mssql';
import { startLab, type Lab } from '../../lab/index.js';
import { connect, errorNumber, run } from '../helpers/lab.js';
import { DAG_STATE_QUERY, SQL_SERVER_LSN_QUERY, miLsnQuery } from '../helpers/procedure-queries.js';

let lab: Lab;
test.before(async () => {
  lab = await startLab({ scenario: 'lagging', overrides: { replication: { catchUpAfterMs: 60_000 } } });
});
test.after(async () => {
  await lab.stop();
});

test('login with the lab password works (TLS verified against the lab CA); a wrong password gives 18456', async () => {
  const pool = await connect(lab, 'sqlServer');
  const [[row]] = await run(pool, `SELECT @@SERVERNAME AS name, SERVERPROPERTY('ProductVersion') AS v, SERVERPROPERTY('EngineEdition') AS e`);
  assert.equal(row, { name: 'sql01', v: '16.0.4125.3', e: 3 });
  await pool.close();
  const mi = await connect(lab, 'managedInstance');
  const [[m]] = await run(mi, `SELECT SERVERPROPERTY('EngineEdition') AS e`);
  assert.is(m.e, 8);
  await mi.close();
  try {
    await connect(lab, 'sqlServer', { password: 'wrong-password' });
    assert.unreachable();
  } catch (e) {
    assert.match(String((e as Error).message), /Login failed for user 'runbook'/);
  }
  const log = JSON.stringify(lab.statements());
  assert.not.ok(log.includes('wrong-password'));
  assert.not.ok(log.includes(lab.env.LAB_SQL_PASSWORD));
});

test('encrypt off works too', async () => {
  const pool = await connect(lab, 'managedInstance', { encrypt: false });
  const [[row]] = await run(pool, 'SELECT @@SERVERNAME AS name');
  assert.is(row.name, 'sqlmi1');
  await pool.close();
});

test("the procedure's queries, pasted with placeholders filled, split at GO", async () => {
  const pool = await connect(lab, 'sqlServer');
  const [rows] = await run(pool, DAG_STATE_QUERY);
  assert.equal(rows.map((r) => [r.replica_server_name, r.availability_mode_desc, r.role_desc]).sort(), [
    ['ag1', 'ASYNCHRONOUS_COMMIT', 'PRIMARY'],
    ['sqlmi1', 'ASYNCHRONOUS_COMMIT', 'SECONDARY'],
  ]);
  const [lsnRows] = await run(pool, SQL_SERVER_LSN_QUERY);
  assert.is(lsnRows.length, 2, 'the primary shows its own row and the remote member');
  assert.ok(lsnRows.every((r) => r['Replication group'] === 'dag1' && r['Database ID'] === 5));
  const roleScript = `declare @link_name varchar(max) = 'dag1'
USE MASTER
GO

SELECT
   ag.name [Link name],
   rs.role_desc [Link role]
FROM
   sys.availability_groups ag
   join sys.dm_hadr_availability_replica_states rs
   on ag.group_id = rs.group_id
WHERE
   rs.is_local = 1 and ag.name = 'dag1'
GO`;
  assert.is(await errorNumber(pool, roleScript), 102, 'GO inside a batch is a syntax error, as on a server');
  const batches = roleScript.split(/^\s*GO\s*$/im).filter((b) => b.trim());
  await run(pool, batches[0]);
  const [[role]] = await run(pool, batches[1]);
  assert.equal(role, { 'Link name': 'dag1', 'Link role': 'PRIMARY' });
  await pool.close();

  // The procedure's MI query has no group filter: on a General Purpose MI it reads the MI's own
  // AG's row (first) and the link's DAG row, which say different things.
  const mi = await connect(lab, 'managedInstance');
  const [miRows] = await run(mi, miLsnQuery('SalesDb'));
  assert.is(miRows.length, 2);
  assert.equal(miRows.map((r) => r['Sync state']), ['SYNCHRONIZED', 'NOT SYNCHRONIZING']);
  await mi.close();
});

test('LSNs read exactly as text via CAST; numeric(25,0) as a number loses precision, as with real servers', async () => {
  const pool = await connect(lab, 'managedInstance');
  const r = await pool.request().query(`SELECT CAST(last_hardened_lsn AS varchar(30)) AS t, last_hardened_lsn AS n
    FROM sys.dm_hadr_database_replica_states drs JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
    WHERE ag.name = 'dag1' AND is_local = 1`);
  assert.is(r.recordset[0].t, '71000009408100001');
  assert.is(BigInt(r.recordset[0].t), lab.link().replicas.managedInstance.hardened);
  assert.is(typeof r.recordset[0].n, 'number');
  const p = await connect(lab, 'sqlServer');
  const [[eol]] = await run(p, `SELECT CAST(end_of_log_lsn AS varchar(30)) AS t FROM sys.dm_hadr_database_replica_states drs
    JOIN sys.availability_groups ag ON ag.group_id = drs.group_id WHERE ag.is_distributed = 1 AND drs.is_local = 1`);
  assert.is(eol.t, '71000009472100001', 'primary: base + 40 transactions of 16 blocks');
  await pool.close();
  await p.close();
});

test('HADR statements over TDS: refusals carry the right numbers and are logged with them', async () => {
  const pool = await connect(lab, 'sqlServer');
  assert.is(await errorNumber(pool, 'ALTER AVAILABILITY GROUP [dagX] FAILOVER'), 15151);
  assert.is(await errorNumber(pool, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER;'), 41142);
  assert.is(await errorNumber(pool, 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS'), 41122);
  assert.is(await errorNumber(pool, `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON 'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), 'sqlmi9' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`), 15151);
  assert.is(await errorNumber(pool, 'DROP AVAILABILITY GROUP [nope]'), 15151);
  assert.is(await errorNumber(pool, 'EXEC sp_no_such_proc'), 2812);
  const mi = await connect(lab, 'managedInstance');
  assert.is(await errorNumber(mi, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER'), 41190);
  await mi.close();
  const failed = lab.statements().filter((s) => s.errorNumber === 41142);
  assert.is(failed.length, 1);
  assert.is(failed[0].replica, 'sql01');
  assert.is(failed[0].statement, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER');
  const [rows] = await run(pool, `SELECT replica, login, statement, error_number FROM lab.statement_log WHERE error_number = 41142`);
  assert.equal(rows, [{ replica: 'sql01', login: 'runbook', statement: 'ALTER AVAILABILITY GROUP [dag1] FAILOVER', error_number: 41142 }]);
  await pool.close();
});

test('BACKUP over TDS lands in msdb.dbo.backupset with info messages', async () => {
  const mi = await connect(lab, 'managedInstance');
  const infos: string[] = [];
  const req = mi.request();
  req.on('info', (i: { message: string }) => infos.push(i.message));
  await req.batch(`BACKUP DATABASE [SalesDb] TO URL = N'https://acct.blob.core.windows.net/c/SalesDb.bak' WITH COPY_ONLY`);
  assert.ok(infos.some((m) => m.startsWith('BACKUP DATABASE successfully processed')), infos.join('|'));
  const [rows] = await run(mi, `SELECT type, is_copy_only FROM msdb.dbo.backupset WHERE database_name = 'SalesDb' AND type = 'D' ORDER BY backup_finish_date`);
  assert.equal(rows, [{ type: 'D', is_copy_only: false }, { type: 'D', is_copy_only: true }]);
  await mi.close();
});

test('lab.ledger is visible on every replica', async () => {
  for (const side of ['sqlServer', 'managedInstance'] as const) {
    const pool = await connect(lab, side);
    const r = await pool.request().query(`SELECT link_name, committed, lost, CAST(last_committed_lsn AS varchar(30)) AS lsn FROM lab.ledger`);
    assert.equal(r.recordset, [{ link_name: 'dag1', committed: '40', lost: '0', lsn: '71000009472100001' }]);
    await pool.close();
  }
});

test('typed parameters reach the model (sp_executesql)', async () => {
  const pool = await connect(lab, 'sqlServer');
  const r = await pool.request().input('db', sql.NVarChar, 'SalesDb')
    .query('SELECT database_id FROM sys.databases WHERE name = @db');
  assert.equal(r.recordset, [{ database_id: 5 }]);
  await pool.close();
});

test.run();
