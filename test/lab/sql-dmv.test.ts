// The lab's T-SQL engine answering the DMV queries a DBA pastes from the fail-over-link article,
// LSN exactness, big results, refresh-on-version and a warm-query timing note (no sockets).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSqlEngine, TABLES } from '../../lab/sql/engine.js';
import type { ReplyItem, SessionInfo, TableRows } from '../../lab/sql/contract.js';
import { DAG_STATE_QUERY, SQL_SERVER_LSN_QUERY, miLsnQuery } from '../helpers/procedure-queries.js';

const AG = '9E0C1C38-5B4F-4C33-9F3A-1D6C1B7E0001';
const DAG = '9E0C1C38-5B4F-4C33-9F3A-1D6C1B7E0002';
const LOCAL = '4B6A2E10-0000-4000-8000-000000000001';
const REMOTE = '4B6A2E10-0000-4000-8000-000000000002';
const LSN = 71000009408100001n;

function rows(extraLog = 0): TableRows {
  return {
    'sys.databases': [
      { name: 'master', database_id: 1, state_desc: 'ONLINE', recovery_model_desc: 'SIMPLE', create_date: new Date('2003-04-08T09:13:36Z'), compatibility_level: 160 },
      { name: 'SalesDb', database_id: 5, state_desc: 'ONLINE', recovery_model_desc: 'FULL', create_date: new Date('2024-05-01T10:00:00Z'), compatibility_level: 160 },
    ],
    'sys.availability_groups': [
      { group_id: AG, name: 'ag1', is_distributed: false, cluster_type_desc: 'NONE', required_synchronized_secondaries_to_commit: 0 },
      { group_id: DAG, name: 'dag1', is_distributed: true, cluster_type_desc: 'NONE', required_synchronized_secondaries_to_commit: 0 },
    ],
    'sys.availability_replicas': [
      { replica_id: LOCAL, group_id: DAG, replica_server_name: 'ag1', endpoint_url: 'TCP://10.0.0.4:5022', availability_mode: 0, availability_mode_desc: 'ASYNCHRONOUS_COMMIT', failover_mode_desc: 'MANUAL', seeding_mode_desc: 'AUTOMATIC', session_timeout: 20 },
      { replica_id: REMOTE, group_id: DAG, replica_server_name: 'sqlmi1', endpoint_url: 'tcp://sqlmi1.example:5022;Server=[sqlmi1]', availability_mode: 0, availability_mode_desc: 'ASYNCHRONOUS_COMMIT', failover_mode_desc: 'MANUAL', seeding_mode_desc: 'AUTOMATIC', session_timeout: 20 },
    ],
    'sys.dm_hadr_availability_replica_states': [
      { replica_id: LOCAL, group_id: DAG, is_local: true, role: 1, role_desc: 'PRIMARY', operational_state_desc: 'ONLINE', connected_state_desc: 'CONNECTED', synchronization_health_desc: 'HEALTHY' },
      { replica_id: REMOTE, group_id: DAG, is_local: false, role: 2, role_desc: 'SECONDARY', operational_state_desc: null, connected_state_desc: 'CONNECTED', synchronization_health_desc: 'HEALTHY' },
    ],
    'sys.dm_hadr_database_replica_states': [
      {
        database_id: 5, group_id: DAG, replica_id: LOCAL, group_database_id: '11111111-2222-3333-4444-555555555555', is_local: true,
        is_primary_replica: true, synchronization_state: 2, synchronization_state_desc: 'SYNCHRONIZED', end_of_log_lsn: LSN,
        last_hardened_lsn: LSN, last_commit_lsn: LSN, last_commit_time: new Date('2025-01-02T03:04:05.678Z'), log_send_queue_size: 0n, secondary_lag_seconds: 0n,
      },
      {
        database_id: 5, group_id: AG, replica_id: REMOTE, group_database_id: '11111111-2222-3333-4444-555555555556', is_local: false,
        is_primary_replica: false, synchronization_state: 0, synchronization_state_desc: 'NOT SYNCHRONIZING', end_of_log_lsn: LSN - 5n,
      },
    ],
    'msdb.dbo.backupset': [
      { backup_set_id: 1, database_name: 'SalesDb', type: 'L', is_copy_only: false, first_lsn: LSN - 100n, last_lsn: LSN, server_name: 'SQL1', backup_start_date: new Date('2025-01-02T03:00:00Z') },
    ],
    'lab.statement_log': Array.from({ length: extraLog }, (_, i) => ({
      seq: BigInt(i + 1), at: new Date(1_700_000_000_000 + i), replica: 'SQL1', login: 'sa', session_id: 51, statement: `SELECT ${i}`, error_number: null,
    })),
    'lab.ledger': [{ link_name: 'dag1', database_name: 'SalesDb', committed: 1200n, lost: 0n, last_committed_lsn: LSN }],
  };
}

let version = 1;
let tableCalls = 0;
let logRows = 0;
const engine = createSqlEngine({
  serverName: 'SQL1',
  versionText: 'Microsoft SQL Server 2022 (RTM-CU13) - 16.0.4125.3 (X64)',
  serverProperties: { ProductVersion: '16.0.4125.3', ProductMajorVersion: '16', Edition: 'Developer Edition (64-bit)', EngineEdition: 3 },
  databases: () => ['SalesDb'],
  tables: () => (tableCalls++, rows(logRows)),
  version: () => version,
  hooks: [],
});
const session = (): SessionInfo => ({ sessionId: 51, login: 'sa', database: 'master' });

function only<K extends ReplyItem['kind']>(items: ReplyItem[], kind: K): Extract<ReplyItem, { kind: K }>[] {
  return items.filter((i) => i.kind === kind) as Extract<ReplyItem, { kind: K }>[];
}
function resultOf(items: ReplyItem[]) {
  const errors = only(items, 'error');
  assert.equal(errors.map((e) => e.error.message), []);
  const sets = only(items, 'rows');
  assert.ok(sets.length > 0, 'a result set');
  return sets[sets.length - 1];
}

test('the SQL Server LSN query runs as pasted, LSN columns as exact numeric(25,0) bigints', () => {
  const set = resultOf(engine.execute(session(), SQL_SERVER_LSN_QUERY, {}));
  assert.equal(set.columns.map((c) => c.name), ['Replication group', 'Database name', 'Database ID', 'group_id', 'replica_id', 'Sync state', 'End of log LSN', 'Last hardened LSN']);
  assert.equal(set.columns[2].sqlType, { type: 'int' });
  assert.equal(set.columns[3].sqlType, { type: 'uniqueidentifier' });
  assert.equal(set.columns[6].sqlType, { type: 'numeric', precision: 25, scale: 0 });
  assert.equal(set.rows, [['dag1', 'SalesDb', 5, DAG, LOCAL, 'SYNCHRONIZED', LSN, LSN]]);
  assert.is(typeof set.rows[0][6], 'bigint');
});

test('the Managed Instance LSN query (with its commented-out Business Critical filter) runs as pasted', () => {
  const sql = miLsnQuery('SalesDb');
  const set = resultOf(engine.execute(session(), sql, {}));
  assert.equal(set.rows.length, 2);
  assert.equal(set.rows.map((r) => r[4]).sort(), ['NOT SYNCHRONIZING', 'SYNCHRONIZED']);
  const bc = resultOf(engine.execute(session(), sql.replace('-- AND', 'AND'), {}));
  assert.equal(bc.rows.length, 1);
});

test('the DAG state query (synchronous commit check) runs as pasted', () => {
  const sql = DAG_STATE_QUERY;
  const set = resultOf(engine.execute(session(), sql, {}));
  assert.equal(set.columns[1].sqlType, { type: 'bit' });
  assert.equal(set.rows, [
    ['dag1', true, 'ag1', 'ASYNCHRONOUS_COMMIT', 'CONNECTED', 'PRIMARY', 'ONLINE', 'HEALTHY'],
    ['dag1', true, 'sqlmi1', 'ASYNCHRONOUS_COMMIT', 'CONNECTED', 'SECONDARY', null, 'HEALTHY'],
  ]);
});

const ROLE_SCRIPT = `-- Execute on SQL Server and SQL Managed Instance 

declare @link_name varchar(max) = '<DAGName>' 
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
   rs.is_local = 1 and ag.name = @link_name 
GO
`.replace('<DAGName>', 'dag1');

test('the role query pasted as ONE batch fails on GO with 102 at the GO line, and runs nothing', () => {
  const s = { ...session(), database: 'SalesDb' };
  const items = engine.execute(s, ROLE_SCRIPT, {});
  assert.equal(items.length, 1);
  const [err] = only(items, 'error');
  assert.equal([err.error.number, err.error.class, err.error.message, err.error.line], [102, 15, "Incorrect syntax near 'GO'.", 5]);
  assert.is(s.database, 'SalesDb', 'USE did not run');
});

test('the role query split at GO: the parts run, and the variable dies with its batch as on SQL Server', () => {
  const s = { ...session(), database: 'SalesDb' };
  const batches = ROLE_SCRIPT.split(/^\s*GO\s*$/im).filter((b) => b.trim());
  assert.is(batches.length, 2);
  const first = engine.execute(s, batches[0], {});
  assert.equal(first, [{ kind: 'database', name: 'master' }]);
  assert.is(s.database, 'master');
  // The article's script declares @link_name before GO: a real server answers 137 here too.
  const [err] = only(engine.execute(s, batches[1], {}), 'error');
  assert.equal([err.error.number, err.error.message], [137, 'Must declare the scalar variable "@link_name".']);
  assert.is(err.error.line, batches[1].slice(0, batches[1].indexOf('@link_name')).split('\n').length);
  assert.ok(err.error.line > 1);
  // With the declaration in the same batch (how a DBA fixes it) the role comes back.
  const fixed = resultOf(engine.execute(s, `declare @link_name varchar(max) = 'DAG1'\n${batches[1]}`, {}));
  assert.equal(fixed.columns.map((c) => c.name), ['Link name', 'Link role']);
  assert.equal(fixed.rows, [['dag1', 'PRIMARY']]);
});

test('LSN as text is exact: CAST to varchar(30), CONVERT, and the numeric column itself', () => {
  const set = resultOf(engine.execute(session(), `SELECT CAST(end_of_log_lsn AS varchar(30)) AS lsn_text,
    CONVERT(varchar(30), last_hardened_lsn) h, CAST(end_of_log_lsn AS bigint) AS lsn_big, end_of_log_lsn
    FROM sys.dm_hadr_database_replica_states WHERE is_local = 1`, {}));
  assert.equal(set.rows, [['71000009408100001', '71000009408100001', LSN, LSN]]);
  assert.equal(set.columns[0].sqlType, { type: 'nvarchar', length: 30 });
  assert.equal(set.columns[2].sqlType, { type: 'bigint' });
  const param = resultOf(engine.execute(session(), 'SELECT COUNT(*) AS n FROM sys.dm_hadr_database_replica_states WHERE end_of_log_lsn = @lsn', { lsn: LSN }));
  assert.equal(param.rows, [[1]]);
});

test('msdb.dbo.backupset, lab.ledger, master.sys.x and datetime columns', () => {
  const b = resultOf(engine.execute(session(), "SELECT TOP (1) type, is_copy_only, last_lsn, backup_start_date FROM msdb.dbo.backupset WHERE database_name = N'SalesDb' ORDER BY backup_set_id DESC", {}));
  assert.equal(b.rows, [['L', false, LSN, new Date('2025-01-02T03:00:00Z')]]);
  assert.equal(b.columns[3].sqlType, { type: 'datetime' });
  const l = resultOf(engine.execute(session(), 'SELECT committed, lost, last_committed_lsn FROM lab.ledger WITH (NOLOCK)', {}));
  assert.equal(l.rows, [[1200n, 0n, LSN]]);
  const m = resultOf(engine.execute(session(), 'SELECT name FROM master.sys.databases WHERE database_id = DB_ID(N\'SalesDb\')', {}));
  assert.equal(m.rows, [['SalesDb']]);
  const t = resultOf(engine.execute(session(), 'SELECT last_commit_time FROM sys.dm_hadr_database_replica_states WHERE is_local = 1', {}));
  assert.equal(t.rows, [[new Date('2025-01-02T03:04:05.678Z')]]);
  const u = resultOf(engine.execute({ ...session(), database: 'msdb' }, 'SELECT COUNT(*) FROM dbo.backupset', {}));
  assert.equal(u.rows, [[1]]);
  const wrong = only(engine.execute(session(), 'SELECT * FROM dbo.backupset', {}), 'error');
  assert.equal(wrong[0].error.message, "Invalid object name 'dbo.backupset'.");
});

test('the catalog publishes real column names and types', () => {
  const names = (t: keyof typeof TABLES) => TABLES[t].map((c) => c.name);
  assert.ok(names('sys.dm_hadr_database_replica_states').includes('secondary_lag_seconds'));
  const lsn = TABLES['sys.dm_hadr_database_replica_states'].find((c) => c.name === 'end_of_log_lsn');
  assert.is(lsn?.type, 'numeric(25,0)');
  assert.equal(names('lab.statement_log'), ['seq', 'at', 'replica', 'login', 'session_id', 'statement', 'error_number']);
  assert.throws(() => {
    const bad = createSqlEngine({ serverName: 'x', versionText: 'x', serverProperties: {}, databases: () => [], version: () => 1, hooks: [], tables: () => ({ 'sys.databases': [{ nope: 1 }] }) });
    try {
      bad.execute(session(), 'SELECT 1', {});
      const items = bad.execute(session(), 'SELECT * FROM sys.databases', {});
      throw new Error(JSON.stringify(only(items, 'error')[0]?.error.message));
    } finally {
      bad.close();
    }
  }, /no column 'nope'/);
});

test('tables are refreshed only when the version changes', () => {
  const before = tableCalls;
  engine.execute(session(), 'SELECT name FROM sys.databases', {});
  engine.execute(session(), 'SELECT name FROM sys.databases; SELECT 1', {});
  assert.is(tableCalls, before, 'same version: no refresh');
  version++;
  logRows = 3;
  const set = resultOf(engine.execute(session(), 'SELECT COUNT(*) FROM lab.statement_log', {}));
  assert.is(tableCalls, before + 1);
  assert.equal(set.rows, [[3]]);
});

test('a 20,000-row result from a table', () => {
  version++;
  logRows = 20_000;
  const set = resultOf(engine.execute(session(), 'SELECT seq, at, statement FROM lab.statement_log ORDER BY seq', {}));
  assert.is(set.rows.length, 20_000);
  assert.equal(set.rows[19_999], [20000n, new Date(1_700_000_000_000 + 19_999), 'SELECT 19999']);
  assert.equal(set.columns.map((c) => c.sqlType.type), ['bigint', 'datetime2', 'nvarchar']);
  logRows = 0;
  version++;
});

test('perf note: a warm DMV query in-process', () => {
  const s = session();
  for (let i = 0; i < 200; i++) engine.execute(s, SQL_SERVER_LSN_QUERY, {});
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = process.hrtime.bigint();
    engine.execute(s, SQL_SERVER_LSN_QUERY, {});
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const p50 = times[1000];
  const p95 = times[1900];
  console.log(`warm LSN query in-process: p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms`);
  assert.ok(p50 < 50, 'sanity bound only; timings are reported, not asserted');
});

test.after(() => engine.close());
test.run();
