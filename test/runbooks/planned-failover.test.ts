// planned-failover.yml end to end on the lab: the outcome is read from the lab itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST, TestLab } from '../helpers/lab-run.js';

const isFailover = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP\s+\[dag1\]\s+FAILOVER/i.test(s);
const isAlter = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP/i.test(s);

test('healthy: to the managed instance and back, roles swapped each time, nothing lost, link kept', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const there = await t.apply('planned-failover', { sets: FAST });
    assert.is(there.code, 0, there.stdout + there.stderr);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const link = t.lab.link();
    assert.equal({ ...link.modes }, { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' }, 'switched to sync first');
    const firstRun = t.statements();
    const failovers = firstRun.filter(isFailover);
    assert.equal(failovers, ['sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER'], 'one FAILOVER, on the old primary');
    const syncAt = firstRun.findIndex((s) => /SYNCHRONOUS_COMMIT/.test(s) && isAlter(s));
    assert.ok(syncAt >= 0 && syncAt < firstRun.findIndex(isFailover), 'sync commit before FAILOVER');
    assert.match(there.stdout, /Attention:\n.*repoint-applications: .*Point the applications at sqlmi1\.lab\.database\.windows\.net/);

    const back = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
    assert.is(back.code, 0, back.stdout + back.stderr);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    const secondRun = t.statements(firstRun.length);
    assert.equal(secondRun.filter(isFailover), ['managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER']);
    assert.not.ok(secondRun.some((s) => /MODIFY\s+AVAILABILITY/i.test(s)), 'no mode change when failing back');
    assert.match(back.stdout, /Point the applications at localhost,\d+ \(SQL Server sql01/);

    assert.is(t.lab.ledger().lost, 0);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
  } finally {
    await t.stop();
  }
});

test("healthy with dropLinkAfter: roles swapped, the MI's first full backup after the failover awaited, then the link is gone on both sides", async () => {
  const t = await TestLab.start({ scenario: 'healthy', overrides: { miFullBackup: { afterFailoverMs: 1200 } } });
  try {
    const run = await t.apply('planned-failover', { sets: [...FAST, 'dropLinkAfter=true'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles().managedInstance, 'PRIMARY');
    assert.equal(t.linkPresent(), { sqlServer: false, managedInstance: false });
    const failover = t.lab.statements().find((s) => /\] FAILOVER$/.test(s.statement))!;
    const full = t.lab.link().backups.find((b) => b.side === 'managedInstance' && b.type === 'D' && b.start >= failover.at);
    assert.ok(full, 'the MI took a full backup after the failover');
    const del = t.lab.armRequests().find((r) => r.method === 'DELETE');
    assert.ok(del, 'link removed through ARM');
    // Not before: the hour-old automatic full backup from before the failover does not count.
    assert.ok(del!.at.getTime() >= full!.finish.getTime(), `DELETE at ${del!.at.toISOString()}, backup finished ${full!.finish.toISOString()}`);
    assert.match(run.stdout, /first-full-backup/);
    assert.is(t.lab.ledger().lost, 0);
    // Removing the link after a proven LSN wait is a change, not data loss: no --allow-data-loss needed.
    assert.match(run.stdout, /remove-link\s+armDeleteLink \[change\]/);
  } finally {
    await t.stop();
  }
});

test("dropLinkAfter when the MI's first full backup after the failover does not come: stops with the failover done and the link kept (exit 4)", async () => {
  const t = await TestLab.start({ scenario: 'healthy', overrides: { miFullBackup: { afterFailoverMs: 60_000 } } });
  try {
    const run = await t.apply('planned-failover', { sets: [...FAST, 'dropLinkAfter=true', 'backupTimeout=500ms'] });
    assert.is(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stdout, /first-full-backup: No full backup \(not copy-only\) of database SalesDb on managedInstance started since .* after waiting 500ms: the failover is done and the link is kept/);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
    assert.not.ok(t.lab.armRequests().some((r) => r.method === 'DELETE'), 'no DELETE');
  } finally {
    await t.stop();
  }
});

// Issue 9 attack, F11: a wrong ARM token used to be found only at remove-link, after the FAILOVER.
test('dropLinkAfter with a wrong ARM token: exit 2 before anything is sent, naming ARM; without the ARM step the token is not asked for', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const wrong = 'wrong-token-for-the-lab-0123456789';
    const run = await t.apply('planned-failover', { sets: [...FAST, 'dropLinkAfter=true'], env: { LAB_ARM_TOKEN: wrong } });
    assert.is(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /^runbook: set-up error on ARM: ARM refused the credentials reading link dag1 on sqlmi1 \S+ \(\w+\); check arm\.credential and arm\.tokenEnv in the inventory, or sign in again\. Nothing was run: no lock, no journal\.\n$/);
    assert.not.ok(run.stderr.includes(wrong), 'the token is not shown');
    assert.is(run.stdout, '', 'no run started, no prompt');
    const sent = t.statements().filter((s) => !/^\w+: set /i.test(s));
    assert.equal(sent, [], `statements sent: ${sent.join('\n')}`);
    assert.equal(t.lab.armRequests().map((r) => r.method), ['GET'], 'one read of the link');
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });

    const noArm = await t.apply('planned-failover', { sets: FAST, env: { LAB_ARM_TOKEN: wrong } });
    assert.is(noArm.code, 0, noArm.stdout + noArm.stderr);
    assert.equal(t.lab.armRequests().length, 1, 'remove-link is skipped at plan time: ARM is not asked');
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
    assert.equal({ ...t.lab.link().modes }, { sqlServer: 'ASYNCHRONOUS_COMMIT', managedInstance: 'ASYNCHRONOUS_COMMIT' });
  } finally {
    await t.stop();
  }
});

test('toSqlServer on an asynchronous link: switched to synchronous commit first, checked on the MI, then FAILOVER', async () => {
  // The MI is primary and the link was set back to asynchronous (as the README allows): FAILOVER
  // would get 41142 without the switch, so the runbook makes it (skipped when already synchronous).
  const t = await TestLab.start({ scenario: 'healthy', overrides: { roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' } } });
  try {
    const run = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assert.equal({ ...t.lab.link().modes }, { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' });
    const log = t.statements();
    const modifyAt = log.findIndex((s) => s.startsWith('sqlServer: ') && /MODIFY\s+AVAILABILITY/i.test(s));
    const failoverAt = log.findIndex(isFailover);
    assert.ok(modifyAt >= 0 && modifyAt < failoverAt, 'sync commit switched on SQL Server before FAILOVER');
    assert.is(log[failoverAt], 'managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER');
    const checkedOnMi = log.findIndex((s) => s.startsWith('managedInstance: ') && /availability_mode_desc <> 'SYNCHRONOUS_COMMIT'/.test(s));
    assert.ok(checkedOnMi > modifyAt && checkedOnMi < failoverAt, 'the mode was checked on the primary (the MI) before FAILOVER');
    assert.match(run.stdout, /ok\s+8\. still-caught-up/, 'LSNs waited for again in synchronous mode');
    assert.is(t.lab.ledger().lost, 0);
  } finally {
    await t.stop();
  }
});

test('business-critical: to the managed instance and back, its LSNs read with is_primary_replica = 1, nothing lost', async () => {
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
    // The MI's local Business Critical replicas lag behind; only its primary replica's row counts.
    const miLsnReads = t.statements().filter((s) => s.startsWith('managedInstance: ') && /end_of_log_lsn/.test(s));
    assert.ok(miLsnReads.length >= 4, `LSNs read on the MI in both runs (${miLsnReads.length})`);
    assert.ok(miLsnReads.every((s) => /is_primary_replica = 1/.test(s)), miLsnReads.join('\n'));
    assert.is(t.lab.ledger().lost, 0);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
  } finally {
    await t.stop();
  }
});

test.run();
