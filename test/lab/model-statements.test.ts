// The statement hooks, called as the T-SQL engine calls them (one statement, a session, vars),
// and the scenario loader's error lines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appLockHook } from '../../lab/model/applock-statements.js';
import { backupHook } from '../../lab/model/backup-statements.js';
import { hadrHook } from '../../lab/model/hadr-statements.js';
import { LabModel } from '../../lab/model/lab-model.js';
import { tokenize } from '../../lab/model/tokens.js';
import type { Side } from '../../lab/model/types.js';
import { builtInScenarios, loadScenario, ScenarioError, type ScenarioOverrides } from '../../lab/scenario.js';
import { SqlError, type CellValue, type StatementHook } from '../../lab/sql/contract.js';

function setup(scenario = 'healthy', overrides: ScenarioOverrides = {}) {
  const drops: Side[][] = [];
  const model = new LabModel({ scenario: loadScenario(scenario, overrides), links: 1 });
  const ctx = (side: Side) => {
    const rc = model.replicaContext(0, side);
    rc.dropLinkDatabaseSessions = (sides) => drops.push(sides);
    return rc;
  };
  const hooks = (side: Side): StatementHook[] => [hadrHook(ctx(side)), backupHook(ctx(side)), appLockHook(ctx(side))];
  const exec = (side: Side, text: string, vars: Record<string, CellValue> = {}, sessionId = 51) => {
    for (const h of hooks(side)) {
      const r = h(text, { session: { sessionId, login: 'runbook', database: 'master' }, line: 1, vars });
      if (r) return r;
    }
    return undefined;
  };
  const errno = (side: Side, text: string) => {
    try {
      exec(side, text);
    } catch (e) {
      if (e instanceof SqlError) return e.number;
      throw e;
    }
    return 0;
  };
  return { model, link: model.links[0], exec, errno, drops };
}

test('tokenizer: bracketed identifiers with ]] escapes, N strings with doubled quotes', () => {
  const t = tokenize(`ALTER AVAILABILITY GROUP [da]]g 1] MODIFY ON N'it''s', 'x';`)!;
  assert.equal(t.map((x) => x.value), ['ALTER', 'AVAILABILITY', 'GROUP', 'da]g 1', 'MODIFY', 'ON', "it's", ',', 'x']);
  assert.is(tokenize(`SELECT 'open`), undefined);
});

test('unknown group: 15151 for ALTER and DROP; other statements are not ours', () => {
  const { errno, exec } = setup();
  assert.is(errno('sqlServer', 'ALTER AVAILABILITY GROUP [nope] FAILOVER'), 15151);
  assert.is(errno('sqlServer', 'DROP AVAILABILITY GROUP nope'), 15151);
  assert.is(exec('sqlServer', 'SELECT 1'), undefined);
  assert.is(exec('sqlServer', 'ALTER AVAILABILITY GROUP [dag1] SET (REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT = 1)'), undefined);
});

test('planned FAILOVER: 41142 when async, 41190 on the secondary, then succeeds after MODIFY to sync', () => {
  const { errno, exec, link, drops } = setup();
  assert.is(errno('sqlServer', 'ALTER AVAILABILITY GROUP [dag1] FAILOVER'), 41142);
  assert.is(errno('managedInstance', 'ALTER AVAILABILITY GROUP [dag1] FAILOVER'), 41190);
  assert.is(errno('managedInstance', `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON 'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`), 40517);
  assert.is(errno('sqlServer', `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON 'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), 'nosuch' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`), 15151);
  assert.is(link.sqlServerModes.sqlServer, 'ASYNCHRONOUS_COMMIT', 'a refused MODIFY changes nothing');
  exec('sqlServer', `ALTER AVAILABILITY GROUP [dag1]\n MODIFY AVAILABILITY GROUP ON\n '\u0061g1' WITH\n (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT),\n N'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);`);
  assert.equal(link.sqlServerModes, { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' });
  // MODIFY on SQL Server changed SQL Server's copy only: the MI's is still asynchronous.
  assert.is(link.miReplicationMode, 'Async');
  assert.is(errno('sqlServer', 'ALTER AVAILABILITY GROUP [dag1] FAILOVER'), 41142, 'not synchronous until the MI side says so too');
  link.miReplicationMode = 'Sync'; // what ARM PATCH replicationMode does
  assert.equal(exec('sqlServer', 'alter availability group dag1 failover'), [{ kind: 'done' }]);
  assert.is(link.replicas.managedInstance.role, 'PRIMARY');
  assert.equal(drops, [['sqlServer', 'managedInstance']]);
  assert.is(errno('managedInstance', 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS'), 41122);
});

test('SQL Server 2019: FAILOVER on the primary is refused with 41122 even when synchronized', () => {
  const { errno } = setup('sql2019', { availabilityMode: { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' } });
  assert.is(errno('sqlServer', 'ALTER AVAILABILITY GROUP [dag1] FAILOVER'), 41122);
});

test('FORCE_FAILOVER on the secondary, SET (ROLE = SECONDARY) on the old primary, DROP of both groups', () => {
  const { errno, exec, link } = setup('lagging');
  exec('managedInstance', 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS');
  assert.is(link.ledger.lost, 40);
  assert.is(errno('managedInstance', 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)'), 0);
  assert.is(errno('managedInstance', 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)'), 41190);
  assert.is(link.replicas.sqlServer.role, 'PRIMARY');
  exec('sqlServer', 'DROP AVAILABILITY GROUP [dag1]');
  assert.not.ok(link.replicas.sqlServer.dagPresent);
  assert.is(errno('sqlServer', 'DROP AVAILABILITY GROUP [dag1]'), 15151);
  exec('sqlServer', 'DROP AVAILABILITY GROUP ag1');
  assert.not.ok(link.replicas.sqlServer.agPresent);
});

test('SQL Server 2019: a T-SQL forced failover of the link is refused too (41122), nothing changes', () => {
  const { errno, link } = setup('sql2019');
  assert.is(errno('managedInstance', 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS'), 41122);
  assert.is(link.replicas.managedInstance.role, 'SECONDARY');
  assert.is(link.ledger.lost, 0);
});

test('an MI side whose AG is not named after the MI: MODIFY must name its AG, the short name is unknown (15151)', () => {
  const { errno, link } = setup('mi-ag-name');
  const modify = (mi: string) =>
    `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON N'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), N'${mi}' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`;
  assert.is(errno('sqlServer', modify('sqlmi1')), 15151);
  assert.is(link.sqlServerModes.managedInstance, 'ASYNCHRONOUS_COMMIT');
  assert.is(errno('sqlServer', modify(link.id.miAgName)), 0);
  assert.is(link.sqlServerModes.managedInstance, 'SYNCHRONOUS_COMMIT');
});

test('ALTER DATABASE ... SET HADR RESUME resumes a suspended SQL Server database; the MI does not support SET HADR (40517)', () => {
  const { errno, exec, link } = setup('split-brain', { replication: { resumeAfterSuspendMs: null } });
  exec('sqlServer', 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)');
  assert.ok(link.replicas.sqlServer.suspended);
  assert.is(errno('managedInstance', 'ALTER DATABASE [SalesDb] SET HADR RESUME'), 40517);
  assert.is(errno('sqlServer', 'ALTER DATABASE [Nope] SET HADR RESUME'), 911);
  assert.equal(exec('sqlServer', 'ALTER DATABASE [SalesDb] SET HADR RESUME;'), [{ kind: 'done' }]);
  assert.not.ok(link.replicas.sqlServer.suspended);
  assert.equal(exec('sqlServer', 'alter database SalesDb set hadr resume'), [{ kind: 'done' }], 'resuming a resumed database is a no-op');
});

test('DROP AVAILABILITY GROUP of the link while the MI lags: what it had not hardened is counted lost, once', () => {
  const { exec, link } = setup('lagging');
  assert.is(link.pending.length, 40);
  exec('sqlServer', 'DROP AVAILABILITY GROUP [dag1]');
  assert.is(link.ledger.lost, 40, 'the 40 transactions the MI never hardened');
  assert.is(link.pending.length, 0);
  exec('sqlServer', 'DROP AVAILABILITY GROUP ag1');
  assert.is(link.ledger.lost, 40, 'dropping the AG loses nothing more');
});

test('BACKUP: tail log on SQL Server, copy-only to URL on the MI, refusals', () => {
  const { errno, exec, link } = setup();
  const r = exec('sqlServer', `BACKUP LOG [SalesDb] TO DISK = N'/backup/SalesDb_tail.trn' WITH NORECOVERY`)!;
  assert.is(r.filter((i) => i.kind === 'info').length, 2);
  assert.is(link.backups.at(-1)!.type, 'L');
  assert.ok(link.replicas.sqlServer.restoring);
  assert.is(errno('sqlServer', `BACKUP LOG [Nope] TO DISK = N'x.trn'`), 911);
  assert.is(errno('managedInstance', `BACKUP DATABASE [SalesDb] TO URL = N'https://acct.blob.core.windows.net/c/SalesDb.bak'`), 3013);
  assert.is(errno('managedInstance', `BACKUP DATABASE [SalesDb] TO DISK = N'x.bak' WITH COPY_ONLY`), 40517);
  exec('managedInstance', `BACKUP DATABASE [SalesDb] TO URL = 'https://acct.blob.core.windows.net/c/SalesDb.bak' WITH COPY_ONLY, COMPRESSION, STATS = 10`);
  const last = link.backups.at(-1)!;
  assert.is(last.side, 'managedInstance');
  assert.ok(last.isCopyOnly);
});

test('sp_getapplock: session-owned, refused (-1) for another session, return code into EXEC @r', () => {
  const { exec, model } = setup();
  const call = `EXEC @r = sp_getapplock @Resource = N'link:dag1', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0`;
  const mine: Record<string, CellValue> = { r: null };
  exec('sqlServer', call, mine, 51);
  assert.is(mine.r, 0);
  const theirs: Record<string, CellValue> = { R: null };
  exec('sqlServer', call.replace('@r', '@R'), theirs, 52);
  assert.is(theirs.R, -1);
  const bad: Record<string, CellValue> = { r: null };
  exec('sqlServer', `EXEC @r = sp_getapplock @Resource = N'x', @LockMode = 'Exclusive', @LockOwner = 'Transaction'`, bad, 52);
  assert.is(bad.r, -999);
  assert.is(model.applocks.rows().length, 1);
  model.applocks.releaseSession('sql01', 51);
  assert.is(model.applocks.rows().length, 0);
  let number = 0;
  try {
    exec('sqlServer', `EXEC sp_releaseapplock @Resource = N'link:dag1', @LockOwner = 'Session'`, {}, 51);
  } catch (e) {
    number = (e as SqlError).number;
  }
  assert.is(number, 1223);
});

test('every built-in scenario loads', () => {
  const names = builtInScenarios();
  for (const n of ['healthy', 'workload-running', 'lagging', 'split-brain', 'primary-down', 'sql2019', 'business-critical']) {
    assert.ok(names.includes(n), n);
    assert.is(loadScenario(n).name, n);
  }
});

test('a bad scenario file gives file:line:col lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
  const file = join(dir, 'bad.yml');
  writeFileSync(file, 'name: bad\nreplication:\n  lagMs: -5\n  stalld: true\nroles: { sqlServer: LEADER }\n');
  try {
    loadScenario(file);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ScenarioError);
    const lines = (e as ScenarioError).problems;
    assert.ok(lines.includes(`${file}:3:3: /replication/lagMs must be >= 0`), lines.join('\n'));
    assert.ok(lines.includes(`${file}:4:3: unknown key 'stalld'`), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`${file}:5:`) && l.includes('/roles/sqlServer')), lines.join('\n'));
    const d = (e as ScenarioError).diagnostics.find((x) => x.message === "unknown key 'stalld'");
    assert.equal(d && [d.file, d.line, d.column, d.severity], [file, 4, 3, 'error']);
    assert.is((e as ScenarioError).exitCode, 2);
  }
  writeFileSync(file, 'name: [unclosed\n');
  try {
    loadScenario(file);
    assert.unreachable();
  } catch (e) {
    assert.match((e as ScenarioError).problems[0], new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  }
});

test.run();
