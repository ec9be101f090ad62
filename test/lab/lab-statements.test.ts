// The rest of the lab's T-SQL surface through the real mssql/tedious client, each statement in its
// good and refused forms with the server's numbers: login failure (18456, password nowhere), the
// refusals of SET ROLE/MODIFY/DROP/BACKUP, USE, SET, variables, SERVERPROPERTY, @@VERSION,
// sp_releaseapplock, unsupported T-SQL, numeric(25,0) metadata, lab.statement_log on the MI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sql from 'mssql';
import { Connection } from 'tedious';
import { startLab, type Lab } from '../../lab/index.js';
import { connect, errorNumber, run } from '../helpers/lab.js';

let lab: Lab;
test.before(async () => {
  lab = await startLab({ scenario: 'healthy' });
});
test.after(async () => {
  await lab.stop();
});

/** A raw tedious login that reports the server's ERROR token (mssql keeps only the message). */
function failedLogin(password: string): Promise<{ number: number; state: number; class: number; message: string }> {
  return new Promise((resolve, reject) => {
    const ep = lab.endpoints.links[0].sqlServer;
    const c = new Connection({
      server: 'localhost',
      authentication: { type: 'default', options: { userName: 'runbook', password } },
      options: { port: ep.port, encrypt: true, trustServerCertificate: false, cryptoCredentialsDetails: { ca: lab.ca }, connectTimeout: 3000 },
    } as never);
    let token: { number: number; state: number; class: number; message: string } | undefined;
    c.on('errorMessage', (t: typeof token) => (token = t));
    c.connect((err) => {
      c.close();
      if (!err) return reject(new Error('logged in with a wrong password'));
      if (!token) return reject(err);
      resolve(token);
    });
  });
}

test('a wrong password: ERROR 18456 class 14; the password is in no log, table or output', async () => {
  const wrong = 'Wr0ng-Pa55word-Audit-7';
  const written: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown) => (written.push(String(chunk)), true);
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  let token;
  try {
    token = await failedLogin(wrong);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  assert.is(token.number, 18456);
  assert.is(token.class, 14);
  assert.is(token.message, "Login failed for user 'runbook'.");
  const pool = await connect(lab, 'sqlServer');
  const [logged] = await run(pool, 'SELECT statement FROM lab.statement_log');
  await pool.close();
  const everything = [JSON.stringify(lab.statements()), JSON.stringify(logged), JSON.stringify(lab.armRequests()), written.join('')].join('\n');
  for (const secret of [wrong, lab.env.LAB_SQL_PASSWORD, lab.env.LAB_MI_PASSWORD]) assert.not.ok(everything.includes(secret));
});

test('HADR and BACKUP refusals on the wrong replica, with their numbers; nothing changes', async () => {
  const mi = await connect(lab, 'managedInstance');
  const toSync = `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON 'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), 'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`;
  assert.is(await errorNumber(mi, 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)'), 41190, 'already secondary');
  assert.is(await errorNumber(mi, toSync), 40517, 'MODIFY is not for the MI (ARM PATCH is)');
  assert.is(await errorNumber(mi, `BACKUP LOG [SalesDb] TO DISK = N'/b/tail.trn' WITH NORECOVERY`), 40517);
  assert.is(await errorNumber(mi, `BACKUP DATABASE [SalesDb] TO URL = N'https://a.blob.core.windows.net/c/x.bak'`), 3013, 'needs COPY_ONLY');
  assert.is(await errorNumber(mi, `BACKUP DATABASE [SalesDb] TO DISK = N'x.bak' WITH COPY_ONLY`), 40517);
  assert.is(await errorNumber(mi, 'DROP AVAILABILITY GROUP [ag1]'), 15151, 'the AG lives on SQL Server only');
  assert.is(await errorNumber(mi, 'ALTER AVAILABILITY GROUP [dagX] SET (ROLE = SECONDARY)'), 15151);
  const p = await connect(lab, 'sqlServer');
  assert.is(await errorNumber(p, `BACKUP LOG [Nope] TO DISK = N'/b/tail.trn' WITH NORECOVERY`), 911);
  const link = lab.link();
  assert.equal(link.sqlServerModes, { sqlServer: 'ASYNCHRONOUS_COMMIT', managedInstance: 'ASYNCHRONOUS_COMMIT' });
  assert.is(link.replicas.managedInstance.role, 'SECONDARY');
  assert.not.ok(link.replicas.sqlServer.restoring);
  // The good MODIFY shows in SQL Server's DMVs, not in the MI's: each side keeps its own copy of
  // the DAG (alter-availability-group-transact-sql.md: MODIFY "must be repeated on both").
  await run(p, toSync);
  const modes = async (pool: typeof p) =>
    (await run(pool, `SELECT ar.availability_mode_desc AS m FROM sys.availability_replicas ar
      JOIN sys.availability_groups ag ON ag.group_id = ar.group_id WHERE ag.is_distributed = 1`))[0].map((r) => r.m);
  assert.equal(await modes(p), ['SYNCHRONOUS_COMMIT', 'SYNCHRONOUS_COMMIT']);
  assert.equal(await modes(mi), ['ASYNCHRONOUS_COMMIT', 'ASYNCHRONOUS_COMMIT']);
  await run(p, `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON 'ag1' WITH (AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT), 'sqlmi1' WITH (AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT)`);
  await Promise.all([p.close(), mi.close()]);
});

test('USE, SET options, DECLARE/SET @x, SERVERPROPERTY and @@VERSION on both replicas', async () => {
  const p = await connect(lab, 'sqlServer');
  assert.is(await errorNumber(p, 'USE NoSuchDb'), 911);
  const [[db]] = await run(p, 'USE SalesDb; SELECT DB_NAME() AS d');
  assert.is(db.d, 'SalesDb');
  const [[ok]] = await run(p, `SET NOCOUNT ON; SET XACT_ABORT ON; SET LOCK_TIMEOUT 1000; SET DEADLOCK_PRIORITY LOW;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SELECT 1 AS ok`);
  assert.is(ok.ok, 1);
  assert.is(await errorNumber(p, 'SET NO_SUCH_OPTION ON'), 195);
  const [[v]] = await run(p, `DECLARE @x int = 1, @s nvarchar(20); SET @x = @x + 41; SET @s = N'a' + N'b'; SELECT @x AS x, @s AS s`);
  assert.equal(v, { x: 42, s: 'ab' });
  assert.is(await errorNumber(p, 'SET @undeclared = 1'), 137);
  const [[props]] = await run(p, `SELECT SERVERPROPERTY('ProductVersion') AS v, SERVERPROPERTY('ProductMajorVersion') AS major,
    SERVERPROPERTY('ProductUpdateLevel') AS cu, SERVERPROPERTY('IsHadrEnabled') AS hadr, SERVERPROPERTY('ServerName') AS name,
    SERVERPROPERTY('NoSuchProperty') AS none, @@VERSION AS version`);
  assert.equal({ ...props, version: undefined }, { v: '16.0.4125.3', major: '16', cu: 'CU13', hadr: 1, name: 'sql01', none: null, version: undefined });
  assert.match(String(props.version), /^Microsoft SQL Server 2022 \(RTM-CU13\).* - 16\.0\.4125\.3/);
  const mi = await connect(lab, 'managedInstance');
  const [[m]] = await run(mi, `SELECT @@VERSION AS version, SERVERPROPERTY('EngineEdition') AS ee, SERVERPROPERTY('ProductVersion') AS v`);
  assert.match(String(m.version), /^Microsoft SQL Azure/);
  assert.equal([m.ee, m.v], [8, '12.0.2000.8']);
  await Promise.all([p.close(), mi.close()]);
});

test('unsupported or wrong T-SQL gets the server error, never a silent answer', async () => {
  const p = await connect(lab, 'sqlServer');
  const cases: Array<[string, number]> = [
    ['EXEC sp_no_such_proc', 2812],
    ['CREATE TABLE t (a int)', 102],
    ['SELECT * FROM sys.no_such_view', 208],
    ['SELECT no_such_column FROM sys.databases', 207],
    ["UPDATE sys.databases SET name = 'x'", 259],
    ['SELECT dbo.fn_nope(1)', 195],
    ['SELECT name FROM sys.databases FOR XML PATH', 102],
    ['EXEC sp_releaseapplock @Resource = N\'never-taken\', @LockOwner = \'Session\'', 1223],
    ['SELECT name FROM sys.databases OPTION (NO_SUCH_HINT)', 102],
  ];
  for (const [text, number] of cases) assert.is(await errorNumber(p, text), number, text);
  // Query hints a DBA pastes change the plan, not the rows.
  const [hinted] = await run(p, 'SELECT name FROM sys.databases WITH (NOLOCK) WHERE database_id = 5 OPTION (RECOMPILE, MAXDOP 1)');
  assert.equal(hinted, [{ name: 'SalesDb' }]);
  await p.close();
});

test('LSN columns are numeric(25,0) as mssql reads the metadata; several result sets in one batch', async () => {
  const p = await connect(lab, 'sqlServer');
  const r = await p.request().query(`SELECT end_of_log_lsn, last_hardened_lsn, last_commit_lsn FROM sys.dm_hadr_database_replica_states WHERE is_local = 1`);
  for (const name of ['end_of_log_lsn', 'last_hardened_lsn', 'last_commit_lsn']) {
    const col = (r.recordset.columns as Record<string, { type: unknown; precision?: number; scale?: number }>)[name];
    assert.is(col.type, sql.Numeric, name);
    assert.equal([col.precision, col.scale], [25, 0], name);
  }
  const [a, b, c] = await run(p, `SELECT 1 AS a; SELECT CAST(drs.end_of_log_lsn AS varchar(30)) AS lsn FROM sys.dm_hadr_database_replica_states drs
    JOIN sys.availability_groups ag ON ag.group_id = drs.group_id WHERE drs.is_local = 1 AND ag.is_distributed = 1; SELECT name FROM sys.databases WHERE database_id = 5`);
  assert.equal([a, b, c], [[{ a: 1 }], [{ lsn: '71000009408100001' }], [{ name: 'SalesDb' }]]);
  await p.close();
});

test('lab.statement_log on the MI: its own statements, in order, with replica and login', async () => {
  const mi = await connect(lab, 'managedInstance', { appName: 'audit-log' });
  await run(mi, "SELECT 'first marker' AS m");
  await run(mi, "SELECT 'second marker' AS m");
  const [rows] = await run(mi, `SELECT seq, replica, login, session_id, statement FROM lab.statement_log WHERE statement LIKE '%marker%' ORDER BY seq`);
  const mine = rows.filter((r) => !String(r.statement).includes('statement_log'));
  assert.equal(mine.map((r) => [r.replica, r.login, r.statement]), [
    ['sqlmi1', 'runbook', "SELECT 'first marker' AS m"],
    ['sqlmi1', 'runbook', "SELECT 'second marker' AS m"],
  ]);
  assert.ok((mine[0].seq as number) < (mine[1].seq as number));
  const [[spid]] = await run(mi, 'SELECT @@SPID AS s');
  assert.is(mine[0].session_id, spid.s);
  const [[ledger]] = await run(mi, 'SELECT link_name, committed, lost, primary_replica FROM lab.ledger');
  assert.equal(ledger, { link_name: 'dag1', committed: '0', lost: '0', primary_replica: 'sql01' });
  await mi.close();
});

test('msdb: backupset joins backupmediafamily on media_set_id; the MI leaves the device path empty, SQL Server fills it in', async () => {
  const mi = await connect(lab, 'managedInstance');
  const url = 'https://acct.blob.core.windows.net/backups/SalesDb_copy.bak';
  await run(mi, `BACKUP DATABASE [SalesDb] TO URL = N'${url}' WITH COPY_ONLY`);
  const [rows] = await run(mi, `SELECT bs.type, bs.is_copy_only, bmf.device_type, bmf.physical_device_name
    FROM msdb.dbo.backupset bs JOIN msdb.dbo.backupmediafamily bmf ON bmf.media_set_id = bs.media_set_id
    WHERE bs.database_name = 'SalesDb' AND bs.type = 'D' ORDER BY bs.backup_finish_date`);
  assert.is(rows.length, 2);
  // backup-transparency.md: "fields like file path and usernames might not be populated".
  assert.equal(rows[0], { type: 'D', is_copy_only: false, device_type: 7, physical_device_name: null });
  assert.equal(rows[1], { type: 'D', is_copy_only: true, device_type: 9, physical_device_name: null });
  const sqlServer = await connect(lab, 'sqlServer');
  await run(sqlServer, `BACKUP LOG [SalesDb] TO DISK = N'/tmp/SalesDb.trn'`);
  const [onSql] = await run(sqlServer, `SELECT bmf.physical_device_name FROM msdb.dbo.backupset bs JOIN msdb.dbo.backupmediafamily bmf ON bmf.media_set_id = bs.media_set_id`);
  assert.equal(onSql, [{ physical_device_name: '/tmp/SalesDb.trn' }]);
  await sqlServer.close();
  assert.is(await errorNumber(mi, 'SELECT physical_device_name FROM msdb.dbo.backupset'), 207);
  await mi.close();
});

/** Runs a pasted script the way SSMS/sqlcmd do: split at GO lines, one batch at a time. */
async function pasted(pool: sql.ConnectionPool, script: string): Promise<void> {
  for (const batch of script.split(/^\s*GO\s*$/im).filter((b) => b.trim())) await run(pool, batch);
}

test("the procedure's split-brain fix and cleanup scripts, pasted (lower case, USE MASTER, GO), do what they say", async () => {
  const sb = await startLab({ scenario: 'split-brain' });
  try {
    const p = await connect(sb, 'sqlServer');
    await pasted(p, `BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/SalesDb_tail.trn' WITH NORECOVERY`);
    await pasted(p, '--Execute on SQL Server \nUSE MASTER\n\nALTER availability group [dag1] \nSET (role = secondary) \nGO \n');
    assert.is(sb.link().replicas.sqlServer.role, 'SECONDARY');
    const mi = await connect(sb, 'managedInstance');
    // Planned failover back needs synchronous commit first, as on a real link.
    assert.is(await errorNumber(mi, 'ALTER availability group [dag1] FAILOVER \n'), 41142);
    await mi.close();
    const p2 = await connect(sb, 'sqlServer');
    await pasted(p2, '-- Run on SQL Server\nUSE MASTER\nGO\nDROP AVAILABILITY GROUP dag1 \nGO');
    await pasted(p2, '-- Run on SQL Server\nUSE MASTER\nGO\nDROP AVAILABILITY GROUP ag1 \nGO');
    const [[n]] = await run(p2, 'SELECT COUNT(*) AS n FROM sys.availability_groups');
    assert.is(n.n, 0);
    assert.is(sb.ledger().lost, 12, 'nothing more lost');
    await Promise.allSettled([p.close(), p2.close()]);
  } finally {
    await sb.stop();
  }
});

test.run();
