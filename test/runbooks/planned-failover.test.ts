// planned-failover.yml end to end on the lab: the outcome is read from the lab itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST_PLANNED as FAST, TestLab } from '../helpers/lab-run.js';

const isFailover = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP\s+\[dag1\]\s+FAILOVER/i.test(s);
const isAlter = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP/i.test(s);

test('healthy: to the managed instance and back, roles swapped each time, nothing lost, link kept', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const there = await t.apply('planned-failover', { sets: FAST });
    assert.is(there.code, 0, there.stdout + there.stderr);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const link = t.lab.link();
    // Both copies of the link's mode were switched: SQL Server's with T-SQL, the MI's through ARM.
    assert.equal({ ...link.sqlServerModes }, { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' }, 'switched to sync first');
    assert.is(link.miReplicationMode, 'Sync');
    const firstRun = t.statements();
    const failovers = firstRun.filter(isFailover);
    assert.equal(failovers, ['sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER'], 'one FAILOVER, on the old primary');
    const syncAt = firstRun.findIndex((s) => /SYNCHRONOUS_COMMIT/.test(s) && isAlter(s));
    assert.ok(syncAt >= 0 && syncAt < firstRun.findIndex(isFailover), 'sync commit before FAILOVER');
    const patches = t.lab.armRequests().filter((r) => r.method === 'PATCH');
    assert.is(patches.length, 1, "the MI's copy set through ARM");
    assert.is(patches[0].apiVersion, '2025-01-01');
    assert.match(there.stdout, /Attention:\n(.*\n)*.*repoint-applications: .*Point the applications at sqlmi1\.lab\.database\.windows\.net/);
    assert.match(there.stdout, /Attention:\n(.*\n)*.*downtime: The application had to stay stopped .*\. That was \S+ \(since /);

    const back = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
    assert.is(back.code, 0, back.stdout + back.stderr);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    const secondRun = t.statements(firstRun.length);
    assert.equal(secondRun.filter(isFailover), ['managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER']);
    assert.not.ok(secondRun.some((s) => /MODIFY\s+AVAILABILITY/i.test(s)), 'no mode change when failing back: both copies still synchronous');
    assert.is(t.lab.armRequests().filter((r) => r.method === 'PATCH').length, 1, 'no second PATCH');
    assert.match(back.stdout, /Point the applications at localhost,\d+ \(SQL Server sql01/);

    assert.is(t.lab.ledger().lost, 0);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
  } finally {
    await t.stop();
  }
});

// Issue 10, point 2: the MI's copy of the mode is ARM's. The old runbook switched SQL Server's copy
// only and waited for FAILOVER to be accepted, which the lab (both copies needed) now refuses.
test("the MI side's AG is not named after the MI: the members come from SQL Server and ARM, MODIFY names the MI's AG, both ways", async () => {
  const t = await TestLab.start({ scenario: 'mi-ag-name' });
  try {
    const there = await t.apply('planned-failover', { sets: FAST });
    assert.is(there.code, 0, there.stdout + there.stderr);
    const modify = t.statements().filter((s) => /MODIFY\s+AVAILABILITY/i.test(s));
    assert.is(modify.length, 1);
    assert.match(modify[0], /N'ag1' WITH \(AVAILABILITY_MODE = SYNCHRONOUS_COMMIT\),\s+N'link_ag_sqlmi' WITH/);
    assert.not.match(modify[0], /'sqlmi1'/, "the inventory's MI name is not a member");
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const back = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
    assert.is(back.code, 0, back.stdout + back.stderr);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assert.is(t.lab.ledger().lost, 0);
  } finally {
    await t.stop();
  }
});

test('SQL Server and ARM name the members differently: refused before anything changes (exit 3)', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    // SQL Server's DAG lists another MI-side member than the AG ARM reports for this link.
    t.lab.link().replicas.managedInstance.memberName = 'sqlmi9';
    t.lab.model.bump();
    const run = await t.apply('planned-failover', { sets: FAST });
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step same-link: SQL Server names the members of link dag1 ag1 and sqlmi9, ARM names them ag1 and sqlmi1: not provably the same link, so nothing was changed/);
    assert.not.ok(t.statements().some(isAlter));
    assert.is(t.lab.armRequests().filter((r) => r.method !== 'GET').length, 0);
  } finally {
    await t.stop();
  }
});

test('healthy with dropLinkAfter: roles swapped, then the link is gone on both sides', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const run = await t.apply('planned-failover', { sets: [...FAST, 'dropLinkAfter=true'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles().managedInstance, 'PRIMARY');
    assert.equal(t.linkPresent(), { sqlServer: false, managedInstance: false });
    assert.ok(t.lab.armRequests().some((r) => r.method === 'DELETE'), 'link removed through ARM');
    assert.is(t.lab.ledger().lost, 0);
    // Removing the link after a proven LSN wait is a change, not data loss: no --allow-data-loss needed.
    assert.match(run.stdout, /remove-link\s+armDeleteLink \[change\]/);
  } finally {
    await t.stop();
  }
});

// Issue 9 attack, F11: a wrong ARM token used to be found only at remove-link, after the FAILOVER.
// Since the MI side's mode is set through ARM, every planned failover reads the link there first.
test('a wrong ARM token: exit 2 before anything is sent, naming ARM', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const wrong = 'wrong-token-for-the-lab-0123456789';
    for (const sets of [[...FAST, 'dropLinkAfter=true'], FAST]) {
      const run = await t.apply('planned-failover', { sets, env: { LAB_ARM_TOKEN: wrong } });
      assert.is(run.code, 2, run.stdout + run.stderr);
      assert.match(run.stderr, /^runbook: set-up error on ARM: ARM refused the credentials reading link dag1 on sqlmi1 \S+ \(\w+\); check arm\.credential and arm\.tokenEnv in the inventory, or sign in again\. Nothing was run: no lock, no journal\.\n$/);
      assert.not.ok(run.stderr.includes(wrong), 'the token is not shown');
      assert.is(run.stdout, '', 'no run started, no prompt');
    }
    const sent = t.statements().filter((s) => !/^\w+: set /i.test(s));
    assert.equal(sent, [], `statements sent: ${sent.join('\n')}`);
    assert.equal(t.lab.armRequests().map((r) => r.method), ['GET', 'GET'], 'one read of the link per run');
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
  } finally {
    await t.stop();
  }
});

test('workload-running: times out at the first LSN wait, exit 1, nothing changed, no FAILOVER', async () => {
  const t = await TestLab.start({ scenario: 'workload-running' });
  try {
    const run = await t.apply('planned-failover', { sets: ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=1200ms'] });
    assert.is(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /FAILED caught-up: .*primary still moving/i);
    assert.not.ok(t.statements().some(isAlter), 'no ALTER of any kind was sent');
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assert.match(run.stdout, /Nothing was changed\./);
  } finally {
    await t.stop();
  }
});

test('lagging: waits for the secondary to catch up, then fails over with nothing lost', async () => {
  const t = await TestLab.start({ scenario: 'lagging' });
  try {
    const started = Date.now();
    const run = await t.apply('planned-failover', { sets: FAST });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.ok(Date.now() - started >= 1400, 'it had to wait for the catch-up');
    assert.match(run.stdout, /gap \d+/, 'progress showed the gap while waiting');
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const ledger = t.lab.ledger();
    assert.is(ledger.lost, 0);
    assert.is(ledger.committed, 40);
  } finally {
    await t.stop();
  }
});

test('split-brain: refused at the role check, exit 3, nothing sent but reads', async () => {
  const t = await TestLab.start({ scenario: 'split-brain' });
  try {
    const run = await t.apply('planned-failover', { sets: FAST });
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step before: Split-brain on link dag1/);
    assert.not.ok(t.statements().some(isAlter));
  } finally {
    await t.stop();
  }
});

test('sql2019: refused before any change, pointing to break-link.yml', async () => {
  const t = await TestLab.start({ scenario: 'sql2019' });
  try {
    const run = await t.apply('planned-failover', { sets: FAST });
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step version-supports-failover: .*2022 CU13.*runbooks\/break-link\.yml/);
    assert.not.ok(t.statements().some(isAlter));
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assert.equal({ ...t.lab.link().sqlServerModes }, { sqlServer: 'ASYNCHRONOUS_COMMIT', managedInstance: 'ASYNCHRONOUS_COMMIT' });
    assert.is(t.lab.link().miReplicationMode, 'Async');
  } finally {
    await t.stop();
  }
});

test('toSqlServer on an asynchronous link: both copies switched to synchronous commit first, SQL Server\'s checked, then FAILOVER', async () => {
  // The MI is primary and the link was set back to asynchronous on both sides (as the README
  // allows): FAILOVER would get 41142 without the switch, so the runbook makes it on each side.
  const t = await TestLab.start({ scenario: 'healthy', overrides: { roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' } } });
  try {
    const run = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assert.equal({ ...t.lab.link().sqlServerModes }, { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' });
    assert.is(t.lab.link().miReplicationMode, 'Sync');
    const log = t.statements();
    const modifyAt = log.findIndex((s) => s.startsWith('sqlServer: ') && /MODIFY\s+AVAILABILITY/i.test(s));
    const failoverAt = log.findIndex(isFailover);
    assert.ok(modifyAt >= 0 && modifyAt < failoverAt, 'sync commit switched on SQL Server before FAILOVER');
    assert.is(log[failoverAt], 'managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER');
    const checked = log.findIndex((s) => s.startsWith('sqlServer: ') && /SELECT ar\.replica_server_name, ar\.availability_mode_desc/.test(s));
    assert.ok(checked > modifyAt && checked < failoverAt, "SQL Server's copy was checked before FAILOVER");
    assert.is(t.lab.armRequests().filter((r) => r.method === 'PATCH').length, 1, "the MI's copy switched through ARM");
    assert.match(run.stdout, /ok\s+12\. still-caught-up/, 'LSNs waited for again in synchronous mode');
    assert.is(t.lab.ledger().lost, 0);
  } finally {
    await t.stop();
  }
});

// Issue 10, point 1: the MI as primary lists SQL Server's row first; the old MI query took it and
// compared SQL Server's LSN with itself, so failing back did not wait for SQL Server to catch up.
test("mi-primary: failing back waits for SQL Server to harden the MI's last 30 transactions, then fails over with nothing lost", async () => {
  const t = await TestLab.start({ scenario: 'mi-primary' });
  try {
    const started = Date.now();
    const run = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.ok(Date.now() - started >= 1400, 'it had to wait for the catch-up at 1.5 s');
    assert.match(run.stdout, /Primary managedInstance end of log \d+, secondary sqlServer hardened \d+: gap 48000000\./);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assert.is(t.lab.ledger().lost, 0);
    assert.is(t.lab.armRequests().filter((r) => r.method === 'PATCH').length, 0, 'both copies were synchronous already');
  } finally {
    await t.stop();
  }
});

// Issue 10, point 11: the first wait only shows the workload stopped (stoppedFor); the full window
// comes right before FAILOVER; the summary says how long the application had to stay stopped.
test('stoppedFor: the first wait is short, the full stableFor comes before FAILOVER, the summary says how long the application stayed stopped', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const run = await t.apply('planned-failover', { sets: ['stoppedFor=200ms', 'stableFor=900ms', 'pollInterval=50ms', 'lsnTimeout=5s'], format: 'json' });
    assert.is(run.code, 0, run.stdout + run.stderr);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const finished = (id: string) => events.find((e) => e.event === 'step-finished' && e.step === id) as { outputs: Record<string, number> };
    assert.ok(finished('caught-up').outputs.waitedMs < 900, `first wait ${finished('caught-up').outputs.waitedMs} ms`);
    assert.ok(finished('still-caught-up').outputs.waitedMs >= 900, `second wait ${finished('still-caught-up').outputs.waitedMs} ms`);
    const downtime = finished('downtime').outputs;
    assert.ok(downtime.elapsedMs >= 1100, `downtime ${downtime.elapsedMs} ms spans both waits`);
    const summary = (events.at(-1) as { summary: { notices: string[] } }).summary;
    assert.ok(
      summary.notices.some((n) => /^downtime: The application had to stay stopped from the confirmation that it was stopped until FAILOVER was done and the roles checked\. That was \d+(\.\d)?s \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\.$/.test(n)),
      summary.notices.join('\n'),
    );
    // The progress events carry what a display draws: LSNs, the window, the queues.
    const sample = events.find((e) => e.event === 'step-output' && e.step === 'still-caught-up' && e.level === 'progress') as { data: Record<string, unknown> };
    assert.is(sample.data.synchronousCommit, true);
    assert.is(sample.data.stableForMs, 900);
    assert.ok('logSendQueueKb' in sample.data && 'redoQueueKb' in sample.data && 'secondaryLagSeconds' in sample.data);
  } finally {
    await t.stop();
  }
});

test('workload-trickle: one commit every ~3 s is seen by a 5 s stoppedFor window: exit 1 at the first wait, nothing changed', async () => {
  const t = await TestLab.start({ scenario: 'workload-trickle' });
  try {
    const run = await t.apply('planned-failover', { sets: ['stoppedFor=5s', 'pollInterval=200ms', 'lsnTimeout=7s'] });
    assert.is(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /FAILED caught-up: /);
    assert.not.ok(t.statements().some(isAlter));
    assert.equal(t.lab.armRequests().filter((r) => r.method !== 'GET'), []);
    assert.match(run.stdout, /Nothing was changed\./);
  } finally {
    await t.stop();
  }
});

test('business-critical: to the managed instance and back, its LSNs read by the link and is_local = 1 (not is_primary_replica), nothing lost', async () => {
  const t = await TestLab.start({ scenario: 'business-critical' });
  try {
    const there = await t.apply('planned-failover', { sets: FAST });
    assert.is(there.code, 0, there.stdout + there.stderr);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const back = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
    assert.is(back.code, 0, back.stdout + back.stderr);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assert.equal(t.statements().filter(isFailover), [
      'sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER',
      'managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER',
    ]);
    const miLsnReads = t.statements().filter((s) => s.startsWith('managedInstance: ') && /end_of_log_lsn/.test(s));
    assert.ok(miLsnReads.length >= 4, `LSNs read on the MI in both runs (${miLsnReads.length})`);
    assert.ok(miLsnReads.every((s) => /ag\.name = @dag AND drs\.is_local = 1/.test(s) && !/is_primary_replica/.test(s)), miLsnReads.join('\n'));
    assert.is(t.lab.ledger().lost, 0);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
  } finally {
    await t.stop();
  }
});

test.run();
