// `runbook plan` of every shipped runbook, through the CLI (its main() in this process), in text,
// json and sql: the SQL is shown in full, impacts are marked, forced failover carries the data-loss
// flag, and values that come from earlier steps say "(known after apply)". Plan starts no lab and
// connects to nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runInProcess } from '../helpers/cli.js';
import type { Plan } from '../../engine/plan/types.js';

const RUNBOOKS = ['planned-failover', 'forced-failover', 'split-brain', 'cleanup', 'break-link'];
const file = (name: string) => `runbooks/${name}.yml`;

/** Text in full (every argument, SQL in full); T-SQL is one replica's script (sqlServer unless named). */
async function plan(name: string, format: 'text' | 'json' | 'sql', sets: string[] = [], replica = 'sqlServer') {
  const extra = format === 'text' ? ['--full'] : format === 'sql' ? ['--replica', replica] : [];
  const r = await runInProcess(['plan', file(name), '--lab', '--format', format, ...extra, ...sets.flatMap((s) => ['--set', s])]);
  assert.is(r.code, 0, `plan ${name} --format ${format}: ${r.stderr}`);
  return r.stdout;
}

const SPLIT = ['keep=managedInstance', 'backupLocation=D:\\backup\\SalesDb-tail.trn'];
const setsFor = (name: string) => (name === 'split-brain' ? SPLIT : []);

test('every runbook plans in every format; the JSON plan is complete and consistent', async () => {
  for (const name of RUNBOOKS) {
    const json = JSON.parse(await plan(name, 'json', setsFor(name))) as Plan;
    assert.is(json.runbook.name, name);
    assert.is(json.inventory.link, 'dag1');
    assert.ok(json.runbook.description.length > 200, `${name} explains when to use it and what it will not do`);
    assert.ok(json.steps.every((s) => ['read', 'change', 'dataLoss'].includes(s.impact)));
    // Every runbook begins by looking at the roles (or, for cleanup, at the link on the MI) before any change.
    const firstChange = json.steps.findIndex((s) => s.impact !== 'read' && s.decision !== 'skip');
    const firstRoleRead = json.steps.findIndex((s) => s.type === 'assertRole' || /role|link-on-managed-instance/.test(s.id));
    assert.ok(firstRoleRead >= 0 && (firstChange === -1 || firstRoleRead < firstChange), `${name}: roles checked before any change`);
    assert.ok((await plan(name, 'text', setsFor(name))).includes(`Runbook: ${name}`));
    assert.ok((await plan(name, 'sql', setsFor(name))).includes('-- Link dag1, database SalesDb'));
  }
});

test('planned-failover: SQL in full, impact marks, run-time values marked, version gate before any change', async () => {
  const text = await plan('planned-failover', 'text');
  assert.match(text, /sync-commit-sql-server  sqlExec -> sqlServer  \[change\]/);
  // The members of MODIFY are SQL Server's own names, read at run time (issue 10, point 2); the plan says so.
  assert.match(text, /MODIFY AVAILABILITY GROUP ON <SQL Server's member>, <the managed instance's member>/);
  assert.match(text, /sql: \(known after apply\) \(from steps\.members\.outputs\.first\.sqlServerMember\)/);
  assert.match(text, /sync-commit-managed-instance  armSetReplicationMode  \[change\]/);
  assert.match(text, /PATCH replicationMode of link dag1 on sqlmi1 .* to Sync via ARM/);
  assert.match(text, /failover  sqlExec -> primary  \[change\]/);
  assert.match(text, /sql: ALTER AVAILABILITY GROUP \[dag1\] FAILOVER;/);
  assert.match(text, /primary: \(known after apply\) \(from steps\.before\.outputs\.secondary\)/);
  assert.match(text, /that: \(known after apply\) \(from steps\.version\.outputs\.linkFailover\)/);
  // Issue 10, point 11: a short first window, the full one before FAILOVER.
  assert.match(text, /^  stoppedFor = 10s +\[string\]/m);
  assert.match(text, /^  stableFor = 30s +\[string\]/m);
  assert.match(text, /guard: LSNs equal and unchanged for 10s [\s\S]*guard: LSNs equal and unchanged for 30s/);
  assert.match(text, /remove-link  armDeleteLink  \[change\]  SKIPPED/);
  assert.match(text, /0 data-loss steps/);

  const json = JSON.parse(await plan('planned-failover', 'json')) as Plan;
  const ids = json.steps.map((s) => s.id);
  assert.ok(ids.indexOf('version-supports-failover') < ids.indexOf('sync-commit-sql-server'));
  assert.ok(ids.indexOf('same-link') < ids.indexOf('sync-commit-sql-server'), 'the members are proven the same on both sides before anything changes');
  assert.ok(ids.indexOf('caught-up') < ids.indexOf('sync-commit-sql-server'), 'the workload is proven stopped before anything changes');
  assert.ok(ids.indexOf('sync-commit-managed-instance') < ids.indexOf('still-caught-up'));
  assert.ok(ids.indexOf('still-caught-up') < ids.indexOf('failover'));
  assert.ok(json.steps.every((s) => s.impact !== 'dataLoss'));

  const back = JSON.parse(await plan('planned-failover', 'json', ['direction=toSqlServer', 'dropLinkAfter=true'])) as Plan;
  const decision = (id: string) => back.steps.find((s) => s.id === id)!.decision;
  // Each side's copy of the mode is switched only if it is asynchronous: known at run time, in either direction.
  assert.is(decision('sync-commit-sql-server'), 'decided at run time');
  assert.is(decision('sync-commit-managed-instance'), 'decided at run time');
  assert.is(decision('still-caught-up'), 'run');
  assert.is(decision('sync-verified'), 'run');
  assert.is(decision('remove-link'), 'run');
  assert.is(back.steps.find((s) => s.id === 'before')!.with.primary, 'managedInstance');
  // After an LSN-stable wait, removing the link is a change, not data loss.
  assert.is(back.steps.find((s) => s.id === 'remove-link')!.impact, 'change');

  const sql = await plan('planned-failover', 'sql');
  assert.match(sql, /-- T-SQL for sqlServer[\s\S]*SELECT CAST\(SERVERPROPERTY\('ProductVersion'\) AS nvarchar\(128\)\) AS version;/);
  assert.match(sql, /-- T-SQL for sqlServer[\s\S]*AS managedInstanceMember,[\s\S]*AS asyncMembers,[\s\S]*WHERE ag\.is_distributed = 1 AND ag\.name = @link;/);
  assert.match(await plan('planned-failover', 'sql', [], 'primary'), /-- T-SQL for primary[\s\S]*\nALTER AVAILABILITY GROUP \[dag1\] FAILOVER;\nGO/);
});

test('forced-failover: the data-loss flag and what apply will demand', async () => {
  const text = await plan('forced-failover', 'text');
  assert.match(text, /force  sqlExec -> managedInstance  \[DATA LOSS\]/);
  assert.match(text, /force-sql-server  sqlExec -> sqlServer  \[DATA LOSS\]/);
  // Below SQL Server 2022 CU13 the link is removed instead (issue 10, point 7); no LSN wait, so data loss.
  assert.match(text, /remove-link  armDeleteLink  \[DATA LOSS\]/);
  assert.match(text, /apply refuses it unless given --allow-data-loss dag1/);
  assert.match(text, /sql: ALTER AVAILABILITY GROUP \[dag1\] FORCE_FAILOVER_ALLOW_DATA_LOSS;/);
  assert.match(text, /3 data-loss steps\b/);
  const json = JSON.parse(await plan('forced-failover', 'json')) as Plan;
  assert.equal(json.steps.filter((s) => s.impact === 'dataLoss').map((s) => s.id), ['force', 'force-sql-server', 'remove-link']);
  const ids = json.steps.map((s) => s.id);
  assert.ok(ids.indexOf('version-known') < ids.indexOf('gap'), 'the version decides the way before anything else');
  assert.ok(ids.indexOf('gap') < ids.indexOf('force'), 'the loss is measured before the forced step');
  // Issue 10, point 7: in a drill the old primary is demoted before the other side is forced.
  assert.ok(ids.indexOf('reverse-sql-server') < ids.indexOf('force') && ids.indexOf('reverse-managed-instance') < ids.indexOf('force-sql-server'));
  const sql = await plan('forced-failover', 'sql', [], 'managedInstance');
  // Each forced step runs on its own side, only when the version and the roles say so (commented out: decided at run time).
  assert.match(sql, /-- T-SQL for managedInstance[\s\S]*force \(sqlExec, dataLoss\)\n(-- .*\n)*-- Run 1 batch of T-SQL on managedInstance\n(-- guard: .*\n)*.*decided at run time, so it is commented out here\.\n-- ALTER AVAILABILITY GROUP \[dag1\] FORCE_FAILOVER_ALLOW_DATA_LOSS;/);
});

test('split-brain: the choice of keep decides which side is backed up and demoted; the SQL quotes the path', async () => {
  const text = await plan('split-brain', 'text', SPLIT);
  assert.match(text, /sql: BACKUP LOG \[SalesDb\] TO DISK = N'D:\\backup\\SalesDb-tail\.trn';/);
  assert.match(text, /copy-only-backup  sqlExec -> managedInstance  \[change\]  SKIPPED/);
  assert.match(text, /demote-managed-instance  armSetRole  \[change\]  SKIPPED/);
  assert.match(text, /backup-verified  assertBackup  \[read\][\s\S]*Check msdb\.dbo\.backupset on sqlServer for a log backup \(not copy-only\) of \[SalesDb\] taken in this run/);
  const other = JSON.parse(await plan('split-brain', 'json', ['keep=sqlServer', "backupLocation=https://acct.blob.core.windows.net/c/it's.bak"])) as Plan;
  const step = (id: string) => other.steps.find((s) => s.id === id)!;
  assert.is(step('tail-log-backup').decision, 'skip');
  assert.is(step('copy-only-backup').with.sql, "BACKUP DATABASE [SalesDb] TO URL = N'https://acct.blob.core.windows.net/c/it''s.bak' WITH COPY_ONLY;");
  assert.is(step('demote-managed-instance').decision, 'run');
  assert.is(step('failover').decision, 'decided at run time');
  // keep has no default: planning without it is an input error.
  const missing = await runInProcess(['plan', file('split-brain'), '--lab']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /keep/);
});

test('cleanup and break-link: DROP statements shown, guarded by existence checks decided at run time', async () => {
  const cleanup = JSON.parse(await plan('cleanup', 'json', ['dropAg=true'])) as Plan;
  const dropDag = cleanup.steps.find((s) => s.id === 'drop-dag')!;
  assert.is(dropDag.with.sql, 'DROP AVAILABILITY GROUP [dag1];');
  assert.is(dropDag.decision, 'decided at run time');
  assert.is(cleanup.steps.find((s) => s.id === 'drop-ag')!.with.sql, 'DROP AVAILABILITY GROUP [ag1];');
  const text = await plan('break-link', 'text');
  assert.match(text, /first-full-backup  assertBackup  \[read\]/);
  assert.match(text, /remove-link  armDeleteLink  \[change\]/);
  assert.match(text, /guard: Waits for LSN stability earlier in this run\./);
  assert.match(text, /sql: DROP AVAILABILITY GROUP \[dag1\];/);
});

test('the README\'s real inventory plans every runbook with its own names (nothing is contacted)', async () => {
  const inventory = 'test/fixtures/runbooks/e2e/contoso-inventory.yml';
  for (const name of RUNBOOKS) {
    const r = await runInProcess(['plan', file(name), '-i', inventory, '--format', 'json', ...setsFor(name).flatMap((s) => ['--set', s])]);
    assert.is(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as Plan;
    assert.is(json.inventory.link, 'dag_sales');
    assert.is(json.inventory.file, inventory);
  }
  const text = (await runInProcess(['plan', file('planned-failover'), '-i', inventory, '--full'])).stdout;
  assert.match(text, /GET link dag_sales on sqlmi-sales /);
  assert.match(text, /PATCH replicationMode of link dag_sales on sqlmi-sales /);
});

test.run();
