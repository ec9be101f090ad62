// `runbook plan --probe` against the lab through the real clients: the observed state, the
// predicted path (a refusal at the role check on split-brain, at the version check on SQL Server
// 2019), and the lab's own statement log and ARM request log showing that only reads were sent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { startLab } from '../../../lab/index.js';
import { readOnlyProblem } from '../../../engine/drivers/sql/checks.js';
import { runInProcess, tempDir } from '../../helpers/cli.js';
import { labWithInventory } from '../../helpers/lab-run.js';

interface ProbedJson {
  observed: {
    replicas: Record<string, { reachable: boolean; role?: string; version?: string; modes?: string[]; endOfLogLsn?: string | null; setUpError?: boolean; error?: string }>;
    arm: { read: boolean; exists?: boolean };
    lsnGap?: { primary: string; gap: string | null };
    fingerprint: Record<string, string>;
  };
  predicted: {
    outcome: string;
    summary: string;
    steps: Array<{ id: string; prediction: string; probed: boolean; notes: string[]; outputs?: Record<string, unknown> }>;
  };
}

const step = (p: ProbedJson, id: string) => {
  const s = p.predicted.steps.find((x) => x.id === id);
  if (!s) throw new Error(`no predicted step ${id}`);
  return s;
};

test('split-brain: both primaries observed; the path refuses at the role check and goes no further', async () => {
  const r = await runInProcess(['plan', 'runbooks/planned-failover.yml', '--lab', 'split-brain', '--probe', '--format', 'json'], { timeoutMs: 40_000 });
  assert.is(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as ProbedJson;
  assert.is(p.observed.replicas.sqlServer!.role, 'PRIMARY');
  assert.is(p.observed.replicas.managedInstance!.role, 'PRIMARY');
  assert.is(p.observed.fingerprint['sqlServer role'], 'PRIMARY');
  assert.is(p.observed.fingerprint['managedInstance role'], 'PRIMARY');
  assert.is(p.observed.lsnGap, undefined, 'no gap without exactly one primary');
  const before = step(p, 'before');
  assert.is(before.prediction, 'refused');
  assert.ok(before.probed);
  assert.match(before.notes.join('\n'), /Split-brain on link dag1/);
  assert.is(step(p, 'workload-stopped').prediction, 'run');
  for (const id of ['version', 'members', 'sync-commit-sql-server', 'sync-commit-managed-instance', 'failover', 'after']) assert.is(step(p, id).prediction, 'not reached', id);
  assert.is(p.predicted.outcome, 'refused');
  assert.match(p.predicted.summary, /refuse at step before, before changing anything/);

  const text = await runInProcess(['plan', 'runbooks/planned-failover.yml', '--lab', 'split-brain', '--probe'], { timeoutMs: 40_000 });
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /\nObserved state/);
  assert.match(text.stdout, /sqlServer: link role PRIMARY/);
  assert.match(text.stdout, /managedInstance: link role PRIMARY/);
  assert.match(text.stdout, /SPLIT-BRAIN: both replicas say PRIMARY/);
  assert.match(text.stdout, /2\. before {2}REFUSES \(probed\)/);
});

test('healthy: every shipped runbook probes with reads only (statement log and ARM requests)', async () => {
  const { lab, inventoryFile: inventory } = await labWithInventory({ scenario: 'healthy' }, 'runbook-probe-');
  try {
    const runs: Array<[string, string[]]> = [
      ['runbooks/planned-failover.yml', []],
      ['runbooks/break-link.yml', []],
      ['runbooks/cleanup.yml', []],
      ['runbooks/forced-failover.yml', []],
      ['runbooks/split-brain.yml', ['--set', 'keep=managedInstance']],
    ];
    const plans: Record<string, ProbedJson> = {};
    for (const [runbook, extra] of runs) {
      const r = await runInProcess(['plan', runbook, '-i', inventory, '--probe', '--format', 'json', ...extra], { env: lab.env, timeoutMs: 30_000 });
      assert.is(r.code, 0, `${runbook}: ${r.stderr}`);
      plans[runbook] = JSON.parse(r.stdout) as ProbedJson;
    }
    const statements = lab.statements().map((s) => s.statement.trim());
    assert.ok(statements.some((s) => /dm_hadr_availability_replica_states/.test(s)), 'the probe did read the roles');
    const session = /^set (ansi_\w+|arithabort|concat_null_yields_null|datefirst|dateformat|implicit_transactions|language|numeric_roundabort|quoted_identifier|textsize|transaction isolation level|xact_abort)\b/i;
    const notRead = statements.filter((s) => !/^(select|with)\b/i.test(s) && !session.test(s));
    assert.equal(notRead, [], 'only SELECTs and the driver\'s session options reach the replicas');
    const forbidden = statements.filter((s) => /\b(ALTER|DROP|BACKUP|RESTORE|EXEC|EXECUTE|INSERT|UPDATE|DELETE|CREATE|sp_getapplock)\b/i.test(s));
    assert.equal(forbidden, []);
    const armWrites = lab.armRequests().filter((a) => (a as { method?: string }).method !== 'GET');
    assert.equal(armWrites, [], 'only GETs reach ARM');
    assert.is(lab.link().replicas.sqlServer.role, 'PRIMARY', 'nothing changed');

    const planned = plans['runbooks/planned-failover.yml']!;
    assert.is(planned.observed.replicas.sqlServer!.version, '16.0.4125.3');
    assert.equal(planned.observed.replicas.sqlServer!.modes, ['ag1=ASYNCHRONOUS_COMMIT', 'sqlmi1=ASYNCHRONOUS_COMMIT']);
    assert.is(planned.observed.arm.exists, true);
    assert.equal(planned.observed.lsnGap, { primary: 'sqlServer', secondary: 'managedInstance', gap: '0' });
    assert.not.ok(Object.keys(planned.observed.fingerprint).some((k) => /lsn/i.test(k)), 'LSNs move: not in the fingerprint');
    assert.is(step(planned, 'before').outputs?.primary, 'sqlServer');
    assert.is(step(planned, 'version-supports-failover').prediction, 'run');
    assert.ok(step(planned, 'version-supports-failover').probed, 'the version read made the check decidable');
    assert.match(step(planned, 'caught-up').notes.join('\n'), /equal now/);
    assert.is(step(planned, 'failover').prediction, 'run');
    assert.not.ok(step(planned, 'after').probed, 'reads after a change step are not probed');
    assert.is(step(planned, 'remove-link').prediction, 'skip');
    assert.is(planned.predicted.outcome, 'completes');

    // cleanup: the link is live on the managed instance, so its own check refuses before any DROP.
    const cleanup = plans['runbooks/cleanup.yml']!;
    assert.is(step(cleanup, 'link-removed').prediction, 'refused');
    assert.is(step(cleanup, 'drop-dag').prediction, 'not reached');
    // split-brain runbook on a healthy link: refused by its own check.
    assert.is(step(plans['runbooks/split-brain.yml']!, 'is-split-brain').prediction, 'refused');
  } finally {
    await lab.stop();
  }
});

test('sql2019: the probed version decides the runbook\'s version check (refused before any change)', async () => {
  const r = await runInProcess(['plan', 'runbooks/planned-failover.yml', '--lab', 'sql2019', '--probe', '--format', 'json'], { timeoutMs: 40_000 });
  assert.is(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as ProbedJson;
  assert.is(step(p, 'version').outputs?.version, '15.0.4312.2');
  assert.is(step(p, 'version-supports-failover').prediction, 'refused');
  assert.is(step(p, 'caught-up').prediction, 'not reached');
});

test('an unreachable link is observed, not a crash', async () => {
  const lab = await startLab({ scenario: 'healthy' });
  // Down, not misconfigured: the CA the inventory names outlives the lab (stop() removes the lab's copy).
  const dir = tempDir('runbook-probe-');
  const ca = join(dir, 'ca.pem');
  copyFileSync(lab.caFile, ca);
  const down = structuredClone(lab.inventory);
  for (const c of [down.link.sqlServer.connection, down.link.managedInstance.connection]) c.caFile = ca;
  down.arm.caFile = ca;
  const inventory = join(dir, 'inventory.yml');
  writeFileSync(inventory, yaml.dump(down));
  await lab.stop();
  const r = await runInProcess(['plan', 'runbooks/planned-failover.yml', '-i', inventory, '--probe', '--format', 'json'], { env: lab.env, timeoutMs: 40_000 });
  assert.is(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as ProbedJson;
  assert.is(p.observed.replicas.sqlServer!.reachable, false);
  assert.is(p.observed.fingerprint['sqlServer role'], 'UNREACHABLE');
  assert.is(p.observed.arm.read, false);
  assert.is(step(p, 'before').prediction, 'refused', 'assertRole refuses when it cannot see the replicas');
});

test('a refused login is observed as a set-up error, not as an unreachable replica; a run would fail at the first role check', async () => {
  const { lab, inventoryFile } = await labWithInventory({ scenario: 'healthy' }, 'runbook-probe-');
  try {
    const r = await runInProcess(['plan', 'runbooks/forced-failover.yml', '-i', inventoryFile, '--probe', '--format', 'json'], {
      env: { ...lab.env, LAB_SQL_PASSWORD: 'Wr0ng-Pa55word' }, timeoutMs: 40_000,
    });
    assert.is(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as ProbedJson;
    assert.is(p.observed.replicas.sqlServer!.reachable, false);
    assert.is(p.observed.replicas.sqlServer!.setUpError, true);
    assert.match(p.observed.replicas.sqlServer!.error ?? '', /the login was refused/);
    assert.is(p.observed.fingerprint['sqlServer role'], '(not observed)', 'not known to be down');
    assert.is(step(p, 'roles').prediction, 'fails');
    assert.match(step(p, 'roles').notes.join('\n'), /sqlServer.*the login was refused/);
    assert.is(step(p, 'force').prediction, 'not reached');
  } finally {
    await lab.stop();
  }
});

test('readOnlyProblem: only plain SELECTs are sent by a probe', () => {
  const ok = [
    'SELECT 1',
    "SELECT ag.name FROM sys.availability_groups ag WHERE ag.name = @link;",
    "SELECT 'DROP TABLE x' AS t",
    '-- ALTER AVAILABILITY GROUP\nSELECT 1',
    '/* BACKUP */ SELECT [drop] FROM t',
    'WITH c AS (SELECT 1 AS a) SELECT a FROM c',
    'SELECT 1\nGO\nSELECT 2',
  ];
  for (const sql of ok) assert.is(readOnlyProblem(sql), undefined, sql);
  const bad: Array<[string, RegExp]> = [
    ['ALTER AVAILABILITY GROUP [dag1] FAILOVER;', /does not start with SELECT \(ALTER\)/],
    ['SELECT 1; DROP TABLE t', /contains DROP/],
    ['SELECT * INTO t2 FROM t', /contains INTO/],
    ['SELECT 1\nGO\nEXEC sp_getapplock @Resource = N\'x\'', /EXEC/],
    ['SELECT 1; BACKUP LOG x TO DISK = N\'y\'', /BACKUP/],
    ['SELECT sp_who', /SP_WHO/],
  ];
  for (const [sql, why] of bad) assert.match(readOnlyProblem(sql) ?? '', why, sql);
  assert.match(readOnlyProblem({ unknown: true, from: 'x' }) ?? '', /not known/);
});

// Issue 9 attack, F5: a write hidden after a lone CR. SQL Server ends the `--` comment at the CR
// (comment-transact-sql.md) and would run the ALTER; the probe must never send the script.
test('plan --probe never sends a read whose -- comment a lone CR ends before a write', async () => {
  const { lab, dir, inventoryFile } = await labWithInventory({ scenario: 'healthy' }, 'runbook-probe-');
  try {
    const runbook = join(dir, 'sneaky.yml');
    writeFileSync(runbook, [
      'name: sneaky',
      'description: A read that hides a FAILOVER behind a lone CR.',
      'steps:',
      '  - id: sneaky-read',
      '    type: sqlExec',
      '    target: sqlServer',
      '    with: { impact: "{{inputs.impact}}", sql: "SELECT 1 AS x --just a note\\rALTER AVAILABILITY GROUP [dag1] FAILOVER;" }',
      'inputs:',
      // Decided by an input, so that validate cannot judge it and the probe's own check must.
      '  impact: { type: string, default: read, enum: [read, change], description: how the step counts }',
      '',
    ].join('\n'));
    let caught: string | undefined;
    const hold = lab.hold({ match: /FAILOVER/ });
    void hold.reached.then((text) => {
      caught = text;
      hold.release();
    });
    const r = await runInProcess(['plan', runbook, '-i', inventoryFile, '--probe'], { env: lab.env, timeoutMs: 30_000 });
    hold.release();
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /Not probed: it contains ALTER, which a plain read does not/);
    assert.is(caught, undefined, `the probe sent ${JSON.stringify(caught)}`);
    assert.not.ok(lab.statements().some((s) => /FAILOVER|ALTER/i.test(s.statement)), 'no ALTER reached the replica');
    assert.is(lab.link().replicas.sqlServer.role, 'PRIMARY');
  } finally {
    await lab.stop();
  }
});

test.run();
