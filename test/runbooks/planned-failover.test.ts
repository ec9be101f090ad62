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
    name: 'healthy with dropLinkAfter: roles swapped, then the link is gone on both sides',
    runbook: 'planned-failover',
    set: [...FAST, 'dropLinkAfter=true'],
    expect: {
      exit: 0,
      roles: { managedInstance: 'PRIMARY' },
      link: { sqlServer: false, managedInstance: false },
      armWrites: ['DELETE dag1'],
      lost: 0,
      // Removing the link after a proven LSN wait is a change, not data loss: no --allow-data-loss needed.
      stdout: [/remove-link\s+armDeleteLink \[change\]/],
    },
  },
  {
    // Issue 9 attack, F11: a wrong ARM token used to be found only at remove-link, after the FAILOVER.
    name: 'dropLinkAfter with a wrong ARM token: exit 2 before anything is sent, naming ARM; without the ARM step the token is not asked for',
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

      const noArm = await t.apply('planned-failover', { sets: FAST, env: { LAB_ARM_TOKEN: wrongToken } });
      assert.is(noArm.code, 0, noArm.stdout + noArm.stderr);
      assert.equal(t.lab.armRequests().length, 1, 'remove-link is skipped at plan time: ARM is not asked');
    },
  },
  {
    name: 'workload-running: times out at the first LSN wait, within lsnTimeout plus a margin, exit 1, nothing changed, no FAILOVER',
    scenario: 'workload-running',
    runbook: 'planned-failover',
    set: ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=1200ms'],
    // The reads before the wait take well under a second alone; the margin is for a loaded machine.
    withinMs: 1200 + 10_000,
    expect: { exit: 1, stdout: [/FAILED caught-up: .*primary still moving/i, /Nothing was changed\./], sent: [], roles: AS_BEFORE },
  },
  {
    name: 'lagging: waits for the secondary to catch up, then fails over with nothing lost',
    scenario: 'lagging',
    runbook: 'planned-failover',
    set: FAST,
    expect: { exit: 0, stdout: [/gap \d+/], roles: SWAPPED, lost: 0 },
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
      stdout: [/ok\s+8\. still-caught-up/],
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
