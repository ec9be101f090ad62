// planned-failover.yml end to end on the lab: the outcome is read from the lab itself.
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { FAST } from '../helpers/lab-run.js';
import { runbookCases } from '../helpers/runbook-cases.js';

const isFailover = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP\s+\[dag1\]\s+FAILOVER/i.test(s);
const isAlter = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP/i.test(s);
const SWAPPED = { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' };
const AS_BEFORE = { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' };
const wrongToken = 'wrong-token-for-the-lab-0123456789';

runbookCases([
  {
    name: 'healthy: to the managed instance and back, roles swapped each time, nothing lost, link kept',
    runbook: 'planned-failover',
    set: FAST,
    expect: {
      exit: 0,
      roles: SWAPPED,
      modes: { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' },
      stdout: [/Attention:\n.*repoint-applications: .*Point the applications at sqlmi1\.lab\.database\.windows\.net/],
    },
    async then(t) {
      const firstRun = t.statements();
      assert.equal(firstRun.filter(isFailover), ['sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER'], 'one FAILOVER, on the old primary');
      const syncAt = firstRun.findIndex((s) => /SYNCHRONOUS_COMMIT/.test(s) && isAlter(s));
      assert.ok(syncAt >= 0 && syncAt < firstRun.findIndex(isFailover), 'sync commit before FAILOVER');

      const back = await t.apply('planned-failover', { sets: [...FAST, 'direction=toSqlServer'] });
      assert.is(back.code, 0, back.stdout + back.stderr);
      assert.equal(t.roles(), AS_BEFORE);
      const secondRun = t.statements(firstRun.length);
      assert.equal(secondRun.filter(isFailover), ['managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER']);
      assert.not.ok(secondRun.some((s) => /MODIFY\s+AVAILABILITY/i.test(s)), 'no mode change when failing back');
      assert.match(back.stdout, /Point the applications at localhost,\d+ \(SQL Server sql01/);

      assert.is(t.lab.ledger().lost, 0);
      assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
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
      armWrites: ['DELETE dag1'],
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
      armWrites: [],
    },
  },
  {
    // Issue 9 attack, F11: a wrong ARM token used to be found only at remove-link, after the FAILOVER.
    name: 'dropLinkAfter with a wrong ARM token: exit 2 before anything is sent, naming ARM; without dropLinkAfter too (the update policy is read through ARM)',
    runbook: 'planned-failover',
    set: [...FAST, 'dropLinkAfter=true'],
    arrange: () => ({ env: { LAB_ARM_TOKEN: wrongToken } }),
    expect: {
      exit: 2,
      stderr: [/^runbook: set-up error on ARM: ARM refused the credentials reading link dag1 on sqlmi1 \S+ \(\w+\); check arm\.credential and arm\.tokenEnv in the inventory, or sign in again\. Nothing was run: no lock, no journal\.\n$/],
      stdout: '',
      nothingSent: true,
      roles: AS_BEFORE,
    },
    async then(t, run) {
      assert.not.ok(run.stderr.includes(wrongToken), 'the token is not shown');
      assert.equal(t.lab.armRequests().map((r) => r.method), ['GET'], 'one read of the link');

      // Keeping the link reads the managed instance's update policy and the link's failoverMode
      // through ARM before anything is changed, so the wrong token is found at the start as well.
      const keep = await t.apply('planned-failover', { sets: FAST, env: { LAB_ARM_TOKEN: wrongToken } });
      assert.is(keep.code, 2, keep.stdout + keep.stderr);
      assert.not.ok(keep.stderr.includes(wrongToken), 'the token is not shown');
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
    expect: { exit: 0, roles: { managedInstance: 'PRIMARY' }, link: { sqlServer: false, managedInstance: false }, armWrites: ['DELETE dag1'], lost: 0 },
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
    name: 'workload-running: times out at the first LSN wait, exit 1, nothing changed, no FAILOVER',
    scenario: 'workload-running',
    runbook: 'planned-failover',
    set: ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=1200ms'],
    expect: { exit: 1, stdout: [/FAILED caught-up: .*primary still moving/i, /Nothing was changed\./], sent: [], roles: AS_BEFORE },
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
      roles: AS_BEFORE,
      modes: { sqlServer: 'ASYNCHRONOUS_COMMIT', managedInstance: 'ASYNCHRONOUS_COMMIT' },
    },
  },
  {
    // The MI is primary and the link was set back to asynchronous (as the README allows): FAILOVER
    // would get 41142 without the switch, so the runbook makes it (skipped when already synchronous).
    name: 'toSqlServer on an asynchronous link: switched to synchronous commit first, checked on the MI, then FAILOVER',
    overrides: { roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' } },
    runbook: 'planned-failover',
    set: [...FAST, 'direction=toSqlServer'],
    expect: {
      exit: 0,
      roles: AS_BEFORE,
      modes: { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' },
      stdout: [/ok\s+\d+\. still-caught-up/],
      lost: 0,
    },
    then(t) {
      const log = t.statements();
      const modifyAt = log.findIndex((s) => s.startsWith('sqlServer: ') && /MODIFY\s+AVAILABILITY/i.test(s));
      const failoverAt = log.findIndex(isFailover);
      assert.ok(modifyAt >= 0 && modifyAt < failoverAt, 'sync commit switched on SQL Server before FAILOVER');
      assert.is(log[failoverAt], 'managedInstance: ALTER AVAILABILITY GROUP [dag1] FAILOVER');
      const checkedOnMi = log.findIndex((s) => s.startsWith('managedInstance: ') && /availability_mode_desc <> 'SYNCHRONOUS_COMMIT'/.test(s));
      assert.ok(checkedOnMi > modifyAt && checkedOnMi < failoverAt, 'the mode was checked on the primary (the MI) before FAILOVER');
    },
  },
  {
    name: 'business-critical: to the managed instance and back, its LSNs read with is_primary_replica = 1, nothing lost',
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
      // The MI's local Business Critical replicas lag behind; only its primary replica's row counts.
      const miLsnReads = t.statements().filter((s) => s.startsWith('managedInstance: ') && /end_of_log_lsn/.test(s));
      assert.ok(miLsnReads.length >= 4, `LSNs read on the MI in both runs (${miLsnReads.length})`);
      assert.ok(miLsnReads.every((s) => /is_primary_replica = 1/.test(s)), miLsnReads.join('\n'));
      assert.is(t.lab.ledger().lost, 0);
      assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
    },
  },
]);

test.run();
