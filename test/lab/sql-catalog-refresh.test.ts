// The lab's SQL engine reloads only the tables a statement reads (plus sys.databases, which its
// functions read), and each of them at the model's current version: a server holding many links'
// replicas would otherwise rebuild every table of every link for each query (bench/fleet).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSqlEngine } from '../../lab/sql/engine.js';
import type { ReplyItem, TableRows } from '../../lab/sql/contract.js';

let version = 1;
const asked: string[][] = [];
let groupName = 'ag-1';
const engine = createSqlEngine({
  serverName: 'SQL1',
  versionText: 'Microsoft SQL Server 2022 (RTM-CU13) - 16.0.4125.3 (X64)',
  serverProperties: { ProductVersion: '16.0.4125.3', EngineEdition: 3 },
  databases: () => ['SalesDb'],
  tables: (wanted) => {
    asked.push([...wanted].sort());
    const all: TableRows = {
      'sys.databases': [{ name: 'SalesDb', database_id: 5 }],
      'sys.availability_groups': [{ group_id: '00000000-0000-0000-0000-000000000001', name: groupName, is_distributed: false }],
      'msdb.dbo.backupset': [{ backup_set_id: version, database_name: 'SalesDb', type: 'L' }],
    };
    return Object.fromEntries(Object.entries(all).filter(([name]) => wanted.has(name)));
  },
  version: () => version,
  hooks: [],
});
const session = { sessionId: 51, login: 'runbook', database: 'master' };
const rows = (items: ReplyItem[]) => items.flatMap((i) => (i.kind === 'rows' ? i.rows : []));
const run = (sql: string) => engine.execute(session, sql, {});

test('a statement loads the tables it reads and sys.databases, nothing else', () => {
  asked.length = 0;
  assert.equal(rows(run('SELECT name FROM sys.availability_groups')), [['ag-1']]);
  assert.equal(asked, [['sys.availability_groups', 'sys.databases']]);
});

test('a table already loaded at the current version is not asked for again', () => {
  asked.length = 0;
  run('SELECT name FROM sys.availability_groups');
  run('SELECT backup_set_id FROM msdb.dbo.backupset');
  assert.equal(asked, [['msdb.dbo.backupset']]);
});

test('after the model changes, a table read is reloaded and shows the change; one joined with it is current too', () => {
  version++;
  groupName = 'ag-renamed';
  asked.length = 0;
  const got = rows(run('SELECT g.name, b.backup_set_id FROM sys.availability_groups AS g CROSS JOIN msdb.dbo.backupset AS b'));
  assert.equal(got.map((r) => [r[0], Number(r[1])]), [['ag-renamed', version]]);
  assert.equal(asked, [['msdb.dbo.backupset', 'sys.availability_groups', 'sys.databases']]);
});

test.after(() => engine.close());
test.run();
