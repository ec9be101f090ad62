// planned-failover.yml end to end on the lab: the outcome is read from the lab itself.
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { FAST_PLANNED as FAST } from '../helpers/lab-run.js';
import { runbookCases } from '../helpers/runbook-cases.js';

const isFailover = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP\s+\[dag1\]\s+FAILOVER/i.test(s);
const isAlter = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP/i.test(s);
const SWAPPED = { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' };
const AS_BEFORE = { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' };
const SYNC = { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' };
const wrongToken = 'wrong-token-for-the-lab-0123456789';

runbookCases([
  {
    name: 'healthy: to the managed instance and back, roles swapped each time, nothing lost, link kept',
    runbook: 'planned-failover',
    set: FAST,
    expect: {
      exit: 0,
      roles: SWAPPED,
      // Both copies of the link's mode were switched: SQL Server's with T-SQL, the MI's through ARM.
      modes: SYNC,
      miMode: 'Sync',
      armWrites: ['PATCH dag1'],
      stdout: [
        /Attention:\n(.*\n)*.*repoint-applications: .*Point the applications at sqlmi1\.lab\.database\.windows\.net/,
        /Attention:\n(.*\n)*.*downtime: The application had to stay stopped .*\. That was \S+ \(since /,
      ],
    },
    async then(t) {
      const firstRun = t.statements();
      assert.equal(firstRun.filter(isFailover), ['sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER'], 'one FAILOVER, on the old primary');
      const syncAt = firstRun.findIndex((s) => /SYNCHRONOUS_COMMIT/.test(s) && isAlter(s));
      assert.ok(syncAt >= 0 && syncAt < firstRun.findIndex(isFailover), 'sync commit before FAILOVER');
      assert.equal(t.lab.armRequests().filter((r) => r.method === 'PATCH').map((r) => r.apiVersion), ['2025-01-01']);

      const back = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
      assert.is(back.code, 0, back.stdout + back.stderr);
      assert.equal(t.roles(), AS_BEFORE);
      const secondRun = t.statements(firstRun.length);
      assert.equal(secondRun.filter(isFailover), ['managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER']);
      assert.not.ok(secondRun.some((s) => /MODIFY\s+AVAILABILITY/i.test(s)), 'no mode change when failing back: both copies still synchronous');
      assert.is(t.lab.armRequests().filter((r) => r.method === 'PATCH').length, 1, 'no second PATCH');
      assert.match(back.stdout, /Point the applications at localhost,\d+ \(SQL Server sql01/);

      assert.is(t.lab.ledger().lost, 0);
      assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
    },
  },
  {
    // Attack 10, finding 2: SQL Server's database is in another link too (dag1_dr, 50 transactions
    // behind). After the failover SQL Server's copy is a secondary of dag1 and no longer feeds
    // dag1_dr. The old runbook failed over without a word; now it refuses before any change.
    name: 'second-link (another link 50 behind): refused before anything changes, naming the other link and its lag',
    scenario: 'second-link',
    overrides: { sqlServer: { otherLinks: [{ name: 'dag1_dr', behindTransactions: 50 }] } },
    runbook: 'planned-failover',
    set: FAST,
    expect: {
      exit: 3,
      roles: AS_BEFORE,
      sent: [],
      armWrites: [],
      stderr: [/refused at step other-links-acknowledged: Database SalesDb on SQL Server is also in 1 other distributed availability group\(s\): dag1_dr \(400 KB of log not sent to them yet\)\. .*Nothing was changed\..*--set otherLinksAcknowledged=true/],
    },
  },
  {
    name: 'second-link with otherLinksAcknowledged: fails over, and the summary names the link left without its primary',
    scenario: 'second-link',
    runbook: 'planned-failover',
    set: [...FAST, 'otherLinksAcknowledged=true'],
    expect: {
      exit: 0,
      roles: SWAPPED,
      lost: 0,
      stdout: [/Attention:\n(.*\n)*.*other-links-left: SQL Server's copy of SalesDb is now a secondary of link dag1 and no\s+longer feeds its other link\(s\) dag1_dr/],
    },
  },
  {
    // Issue 10, point 2: the MI side's member is its AG (instanceAvailabilityGroupName), not the
    // instance's name, and the MI's copy of the mode is ARM's. The old runbook named the inventory's
    // MI in MODIFY (the lab refuses an unknown member) and switched SQL Server's copy only.
    name: "mi-ag-name: the members come from SQL Server and ARM, MODIFY names the MI's AG, both copies set, both ways",
    scenario: 'mi-ag-name',
    runbook: 'planned-failover',
    set: FAST,
    expect: { exit: 0, roles: SWAPPED, modes: SYNC, miMode: 'Sync', armWrites: ['PATCH dag1'], lost: 0 },
    async then(t) {
      const modify = t.statements().filter((s) => /MODIFY\s+AVAILABILITY/i.test(s));
      assert.is(modify.length, 1);
      assert.match(modify[0]!, /N'ag1' WITH \(AVAILABILITY_MODE = SYNCHRONOUS_COMMIT\),\s+N'link_ag_sqlmi' WITH/);
      assert.not.match(modify[0]!, /'sqlmi1'/, "the inventory's MI name is not a member");
      const back = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
      assert.is(back.code, 0, back.stdout + back.stderr);
      assert.equal(t.roles(), AS_BEFORE);
      assert.is(t.lab.ledger().lost, 0);
    },
  },
  {
    name: 'SQL Server and ARM name the members differently: refused before anything changes (exit 3)',
    runbook: 'planned-failover',
    set: FAST,
    arrange(t) {
      // SQL Server's DAG lists another MI-side member than the AG ARM reports for this link.
      t.lab.link().replicas.managedInstance.memberName = 'sqlmi9';
      t.lab.model.bump();
    },
    expect: {
      exit: 3,
      stderr: [/refused at step same-link: SQL Server names the members of link dag1 ag1 and sqlmi9, ARM names them ag1 and sqlmi1: not provably the same link, so nothing was changed/],
      sent: [],
      armWrites: [],
      roles: AS_BEFORE,
    },
  },
  {
    name: "healthy with dropLinkAfter: roles swapped, the MI's first full backup after the failover awaited, then the link is gone on both sides",
    overrides: { miFullBackup: { afterFailoverMs: 1200 } },
    runbook: 'planned-failover',
    set: [...FAST, 'dropLinkAfter=true'],
    expect: {
      exit: 0,
      roles: { managedInstance: 'PRIMARY' },
      link: { sqlServer: false, managedInstance: false },
      armWrites: ['PATCH dag1', 'DELETE dag1'],
      lost: 0,
      // Removing the link after a proven LSN wait is a change, not data loss: no --allow-data-loss needed.
      stdout: [/remove-link\s+armDeleteLink \[change\]/, /first-full-backup/],
    },
    then(t) {
      const failover = t.lab.statements().find((s) => /\] FAILOVER$/.test(s.statement))!;
      const full = t.lab.link().backups.find((b) => b.side === 'managedInstance' && b.type === 'D' && b.start >= failover.at);
      assert.ok(full, 'the MI took a full backup after the failover');
      const del = t.lab.armRequests().find((r) => r.method === 'DELETE')!;
      // Not before: the hour-old automatic full backup from before the failover does not count.
      assert.ok(del.at.getTime() >= full!.finish.getTime(), `DELETE at ${del.at.toISOString()}, backup finished ${full!.finish.toISOString()}`);
    },
  },
  {
    name: "dropLinkAfter when the MI's first full backup after the failover does not come: stops with the failover done and the link kept (exit 4)",
    overrides: { miFullBackup: { afterFailoverMs: 60_000 } },
    runbook: 'planned-failover',
    set: [...FAST, 'dropLinkAfter=true', 'backupTimeout=500ms'],
    expect: {
      exit: 4,
      stdout: [/first-full-backup: No full backup \(not copy-only\) of database SalesDb on managedInstance started since .* after waiting 500ms: the failover is done and the link is kept/],
      roles: SWAPPED,
      link: { sqlServer: true, managedInstance: true },
      // The MI's copy of the mode was set to Sync before the FAILOVER (issue 10, point 2).
      armWrites: ['PATCH dag1'],
    },
  },
  {
    // Issue 9 attack, F11: a wrong ARM token used to be found only at remove-link, after the FAILOVER.
    // Since the MI side's mode is set through ARM, every planned failover reads the link there first.
    name: 'a wrong ARM token: exit 2 before anything is sent, naming ARM, with or without dropLinkAfter',
    runbook: 'planned-failover',
    set: [...FAST, 'dropLinkAfter=true'],
    arrange: () => ({ env: { LAB_ARM_TOKEN: wrongToken } }),
    expect: {
      exit: 2,
      stderr: [/^runbook: set-up error on ARM: ARM refused the credentials reading link dag1 on sqlmi1 \S+ \(\w+\); check the token in LAB_ARM_TOKEN \(arm\.tokenEnv in the inventory\), or sign in again\. Nothing was run: no lock, no journal\.\n$/],
      stdout: '',
      nothingSent: true,
      roles: AS_BEFORE,
    },
    async then(t, run) {
      assert.not.ok(run.stderr.includes(wrongToken), 'the token is not shown');
      const without = await t.apply('planned-failover', { sets: FAST, env: { LAB_ARM_TOKEN: wrongToken } });
      assert.is(without.code, 2, without.stdout + without.stderr);
      assert.match(without.stderr, /^runbook: set-up error on ARM: ARM refused the credentials reading link dag1/);
      assert.equal(t.lab.armRequests().map((r) => r.method), ['GET', 'GET'], 'one read of the link per run');
      assert.equal(t.roles(), AS_BEFORE);
    },
  },
  {
    // managed-instance-link-disaster-recovery.md: on the Always-up-to-date policy, "after failover to
    // SQL Managed Instance, you will no longer be able to replicate data or fail back".
    name: 'always-up-to-date MI, link kept: refused before anything is changed, pointing to dropLinkAfter',
    scenario: 'always-up-to-date',
    runbook: 'planned-failover',
    set: FAST,
    expect: {
      exit: 3,
      stderr: [/refused at step fail-back-possible: After a failover to the managed instance, link dag1 could not fail back to SQL Server: the managed instance's update policy is Always-up-to-date and the link's failoverMode is Manual.*Nothing was changed\..*--set dropLinkAfter=true/],
      sent: [],
      armWrites: [],
      roles: AS_BEFORE,
      modes: { sqlServer: 'ASYNCHRONOUS_COMMIT', managedInstance: 'ASYNCHRONOUS_COMMIT' },
    },
  },
  {
    name: 'always-up-to-date MI with dropLinkAfter: a failover for good is allowed, the link removed after it',
    scenario: 'always-up-to-date',
    overrides: { miFullBackup: { afterFailoverMs: 300 } },
    runbook: 'planned-failover',
    set: [...FAST, 'dropLinkAfter=true'],
    expect: { exit: 0, roles: { managedInstance: 'PRIMARY' }, link: { sqlServer: false, managedInstance: false }, armWrites: ['PATCH dag1', 'DELETE dag1'], lost: 0 },
  },
  {
    // DistributedAvailabilityGroups.json 2025-01-01: failoverMode None is "one-way failover to Azure".
    name: 'link failoverMode None, link kept: refused before anything is changed',
    overrides: { arm: { failoverMode: 'None' } },
    runbook: 'planned-failover',
    set: FAST,
    expect: {
      exit: 3,
      stderr: [/refused at step fail-back-possible: .*update policy is SQL Server 2022 and the link's failoverMode is None/],
      sent: [],
      armWrites: [],
      roles: AS_BEFORE,
    },
  },
  {
    name: 'always-up-to-date MI as primary: failing back to SQL Server is refused, even with dropLinkAfter',
    scenario: 'always-up-to-date',
    overrides: { roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' } },
    runbook: 'planned-failover',
    set: [...FAST, 'direction=toSqlServer', 'dropLinkAfter=true'],
    expect: {
      exit: 3,
      stderr: [/refused at step fail-back-possible: Link dag1 cannot fail back to SQL Server: the managed instance's update policy is Always-up-to-date/],
      sent: [],
      armWrites: [],
      roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' },
    },
  },
  {
    name: 'workload-running: times out at the first LSN wait, within lsnTimeout plus a margin, exit 1, nothing changed, no FAILOVER',
    scenario: 'workload-running',
    runbook: 'planned-failover',
    set: ['stoppedFor=300ms', 'pollInterval=50ms', 'lsnTimeout=1200ms'],
    // The reads before the wait take well under a second alone; the margin is for a loaded machine.
    withinMs: 1200 + 10_000,
    expect: { exit: 1, stdout: [/FAILED caught-up: .*primary still moving/i, /Nothing was changed\./], sent: [], armWrites: [], roles: AS_BEFORE },
  },
  {
    // Issue 10, point 11: a workload that commits every ~3 s looks stopped to a window shorter than
    // that; a stoppedFor longer than the gap between commits sees it.
    name: 'workload-trickle: one commit every ~3 s is seen by a 5 s stoppedFor window: exit 1 at the first wait, nothing changed',
    scenario: 'workload-trickle',
    runbook: 'planned-failover',
    set: ['stoppedFor=5s', 'pollInterval=200ms', 'lsnTimeout=7s'],
    expect: { exit: 1, stdout: [/FAILED caught-up: /, /Nothing was changed\./], sent: [], armWrites: [], roles: AS_BEFORE },
  },
  {
    // Issue 10, point 11: the first wait only shows the workload stopped (stoppedFor); the full
    // window comes right before FAILOVER; the summary says how long the application had to stay stopped.
    name: 'stoppedFor: the first wait is short, the full stableFor comes before FAILOVER, the summary says how long the application stayed stopped',
    runbook: 'planned-failover',
    set: ['stoppedFor=200ms', 'stableFor=900ms', 'pollInterval=50ms', 'lsnTimeout=5s'],
    flags: { format: 'json' },
    expect: { exit: 0, roles: SWAPPED, lost: 0 },
    then(_t, run) {
      const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const finished = (id: string) => events.find((e) => e.event === 'step-finished' && e.step === id) as { outputs: Record<string, number> };
      assert.ok(finished('caught-up').outputs.waitedMs! < 900, `first wait ${finished('caught-up').outputs.waitedMs} ms`);
      assert.ok(finished('still-caught-up').outputs.waitedMs! >= 900, `second wait ${finished('still-caught-up').outputs.waitedMs} ms`);
      const downtime = finished('downtime').outputs;
      assert.ok(downtime.elapsedMs! >= 1100, `downtime ${downtime.elapsedMs} ms spans both waits`);
      const summary = (events.at(-1) as { summary: { notices: string[] } }).summary;
      assert.ok(
        summary.notices.some((n) =>
          /^downtime: The application had to stay stopped from the confirmation that it was stopped until FAILOVER was done and the roles checked\. That was \d+(\.\d)?s \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\.$/.test(n),
        ),
        summary.notices.join('\n'),
      );
      // The progress events carry what a display draws: LSNs, the window, the queues.
      const sample = events.find((e) => e.event === 'step-output' && e.step === 'still-caught-up' && e.level === 'progress') as { data: Record<string, unknown> };
      assert.is(sample.data.synchronousCommit, true);
      assert.is(sample.data.stableForMs, 900);
      assert.ok('logSendQueueKb' in sample.data && 'redoQueueKb' in sample.data && 'secondaryLagSeconds' in sample.data);
    },
  },
  {
    name: 'lagging: waits for the secondary to catch up, then fails over with nothing lost',
    scenario: 'lagging',
    runbook: 'planned-failover',
    set: FAST,
    expect: { exit: 0, stdout: [/Secondary managedInstance behind primary sqlServer/], roles: SWAPPED, lost: 0 },
    then(t, run) {
      assert.ok(run.ms >= 1400, 'it had to wait for the catch-up');
      assert.is(t.lab.ledger().committed, 40);
    },
  },
  {
    // Issue 10, point 1: the MI as primary lists SQL Server's row (is_local = 0) first; the old MI
    // query took it and compared SQL Server's LSN with itself, so failing back did not wait.
    name: "mi-primary: failing back waits for SQL Server to harden the MI's last 30 transactions, then fails over with nothing lost",
    scenario: 'mi-primary',
    runbook: 'planned-failover',
    set: [...FAST, 'direction=toSqlServer'],
    expect: {
      exit: 0,
      roles: AS_BEFORE,
      lost: 0,
      armWrites: [],
      stdout: [/Secondary sqlServer behind primary managedInstance \(240 KB of log not sent, \d+ s behind\)/],
    },
    then(_t, run) {
      assert.ok(run.ms >= 1400, 'it had to wait for the catch-up at 1.5 s');
    },
  },
  {
    name: 'split-brain: refused at the role check, exit 3, nothing sent but reads',
    scenario: 'split-brain',
    runbook: 'planned-failover',
    set: FAST,
    expect: { exit: 3, stderr: [/refused at step before: Split-brain on link dag1/], sent: [] },
  },
  {
    name: 'sql2019: refused before any change, pointing to break-link.yml',
    scenario: 'sql2019',
    runbook: 'planned-failover',
    set: FAST,
    expect: {
      exit: 3,
      stderr: [/refused at step version-supports-failover: .*2022 CU13.*runbooks\/break-link\.yml/],
      sent: [],
      armWrites: [],
      roles: AS_BEFORE,
      modes: { sqlServer: 'ASYNCHRONOUS_COMMIT', managedInstance: 'ASYNCHRONOUS_COMMIT' },
      miMode: 'Async',
    },
  },
  {
    // The MI is primary and the link was set back to asynchronous on both sides (as the README
    // allows): FAILOVER would get 41142 without the switch, so the runbook makes it on each side.
    name: "toSqlServer on an asynchronous link: both copies switched to synchronous commit first, SQL Server's checked, then FAILOVER",
    overrides: { roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' } },
    runbook: 'planned-failover',
    set: [...FAST, 'direction=toSqlServer'],
    expect: { exit: 0, roles: AS_BEFORE, modes: SYNC, miMode: 'Sync', armWrites: ['PATCH dag1'], stdout: [/ok\s+\d+\. still-caught-up/], lost: 0 },
    then(t) {
      const log = t.statements();
      const modifyAt = log.findIndex((s) => s.startsWith('sqlServer: ') && /MODIFY\s+AVAILABILITY/i.test(s));
      const failoverAt = log.findIndex(isFailover);
      assert.ok(modifyAt >= 0 && modifyAt < failoverAt, 'sync commit switched on SQL Server before FAILOVER');
      assert.is(log[failoverAt], 'managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER');
      const checked = log.findIndex((s) => s.startsWith('sqlServer: ') && /SELECT ar\.replica_server_name, ar\.availability_mode_desc/.test(s));
      assert.ok(checked > modifyAt && checked < failoverAt, "SQL Server's copy was checked before FAILOVER");
    },
  },
  {
    name: 'business-critical: to the managed instance and back, its LSNs read by the link and is_local = 1 (not is_primary_replica), nothing lost',
    scenario: 'business-critical',
    runbook: 'planned-failover',
    set: FAST,
    expect: { exit: 0, roles: SWAPPED },
    async then(t) {
      const back = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
      assert.is(back.code, 0, back.stdout + back.stderr);
      assert.equal(t.roles(), AS_BEFORE);
      assert.equal(t.statements().filter(isFailover), [
        'sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER',
        'managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER',
      ]);
      const miLsnReads = t.statements().filter((s) => s.startsWith('managedInstance: ') && /end_of_log_lsn/.test(s));
      assert.ok(miLsnReads.length >= 4, `LSNs read on the MI in both runs (${miLsnReads.length})`);
      assert.ok(miLsnReads.every((s) => /ag\.name = @dag AND drs\.is_local = 1/.test(s) && !/is_primary_replica/.test(s)), miLsnReads.join('\n'));
      assert.is(t.lab.ledger().lost, 0);
      assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
    },
  },
]);

test.run();
