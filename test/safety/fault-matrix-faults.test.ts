// Fault matrix, part 1: planned failover with a replica going down mid-run, a connection dropped
// during the LSN wait and right after FAILOVER, and ARM throttling, errors and a failed delete.
// Each row checks the lab's ledger and statement log and that the summary tells the truth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestLab } from '../helpers/lab-run.js';
import { assertPlannedInvariants, assertTrueSummary, isFailover, journalRecords, until } from '../helpers/fault-matrix.js';

const FAST = ['stoppedFor=200ms', 'stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=3s'];
const isSyncCommitSwitch = (s: string) => /^\s*ALTER\s+AVAILABILITY\s+GROUP\b[\s\S]*\bMODIFY\s+AVAILABILITY\s+GROUP\s+ON\b/i.test(s);
process.env.RUNBOOK_ARM_RETRY_DELAY_MS = '20';
process.env.RUNBOOK_ARM_MAX_RETRY_DELAY_MS = '50';

test('MI down during the first LSN wait: exit 1, nothing changed, no FAILOVER', async () => {
  const t = await TestLab.start();
  try {
    const running = t.apply('planned-failover', { sets: FAST });
    // The run's journal dir is made by apply; watch the lab instead: the first LSN sample reached the MI.
    await until(() => t.lab.statements().some((s) => s.side === 'managedInstance' && /dm_hadr_database_replica_states/i.test(s.statement)));
    t.lab.setDown('managedInstance', true);
    const run = await running;
    assert.is(run.code, 1, run.stdout + run.stderr);
    assert.not.ok(t.lab.statements().some((s) => isFailover(s.statement)));
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assertPlannedInvariants(t, 'mi-down');
    assertTrueSummary(t, run.stdout, run.code, 'mi-down');
  } finally {
    await t.stop();
  }
});

test('MI down after the switch to synchronous commit: exit 4 (a change was made), no FAILOVER, nothing lost', async () => {
  const t = await TestLab.start();
  try {
    const running = t.apply('planned-failover', { sets: FAST });
    // The ALTER ... MODIFY itself, not any statement naming SYNCHRONOUS_COMMIT (sql-version's query does too).
    await until(() => t.lab.statements().some((s) => isSyncCommitSwitch(s.statement) && s.errorNumber === null));
    t.lab.setDown('managedInstance', true);
    const run = await running;
    assert.is(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stdout, /Changed: sync-commit/);
    assert.not.ok(t.lab.statements().some((s) => isFailover(s.statement)));
    assertPlannedInvariants(t, 'mi-down-after-sync');
    assertTrueSummary(t, run.stdout, run.code, 'mi-down-after-sync');
  } finally {
    await t.stop();
  }
});

test('connection dropped during the LSN wait: the wait reconnects, one FAILOVER, nothing lost', async () => {
  const t = await TestLab.start({
    overrides: { faults: [{ kind: 'dropConnection', replica: 'managedInstance', match: 'dm_hadr_database_replica_states', nth: 3 }] },
  });
  try {
    const run = await t.apply('planned-failover', { sets: FAST });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.is(t.lab.statements().filter((s) => isFailover(s.statement)).length, 1);
    assertPlannedInvariants(t, 'drop-during-wait');
    assertTrueSummary(t, run.stdout, run.code, 'drop-during-wait');
  } finally {
    await t.stop();
  }
});

test('connection dropped right after FAILOVER (it happened, the reply was lost): never re-sent, the summary is not "failed before a change"', async () => {
  const t = await TestLab.start({
    overrides: { faults: [{ kind: 'dropConnection', replica: 'sqlServer', match: '\\bFAILOVER\\b', after: true }] } as never,
  });
  try {
    const run = await t.apply('planned-failover', { sets: FAST });
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' }, 'the FAILOVER took effect');
    assert.is(t.lab.statements().filter((s) => isFailover(s.statement)).length, 1, 'FAILOVER sent once');
    // Without re-probing this is exit 5 (unknown); with it, done (0). Never 1 and never a second FAILOVER.
    assert.ok(run.code === 0 || run.code === 5, `exit ${run.code}\n${run.stdout}${run.stderr}`);
    const failed = journalRecords(run.journalDir).filter((r) => r.kind === 'step-failed' && r.step === 'failover');
    assert.ok(failed.every((r) => r.outcome !== 'failed'), 'the failover step is never journaled as plainly failed');
    assertPlannedInvariants(t, 'drop-after-failover');
    assertTrueSummary(t, run.stdout, run.code, 'drop-after-failover');
  } finally {
    await t.stop();
  }
});

test('ARM 429 twice and a 500 on the link delete: retried by the client, link removed, exit 0', async () => {
  const t = await TestLab.start({
    overrides: {
      faults: [
        { kind: 'armStatus', op: 'delete', status: 429, retryAfterSeconds: 0, count: 2 },
        { kind: 'armStatus', op: 'delete', status: 500, count: 1 },
      ],
    },
  });
  try {
    const run = await t.apply('planned-failover', { sets: [...FAST, 'dropLinkAfter=true'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    const deletes = t.lab.armRequests().filter((r) => r.method === 'DELETE').map((r) => r.status);
    assert.equal(deletes.slice(0, 3), [429, 429, 500]);
    assert.equal(t.linkPresent(), { sqlServer: false, managedInstance: false });
    assertPlannedInvariants(t, 'arm-throttled');
    assertTrueSummary(t, run.stdout, run.code, 'arm-throttled');
  } finally {
    await t.stop();
  }
});

test('ARM delete accepted then failed (long-running operation): exit 4, failover kept, link still there, no DROP on SQL Server', async () => {
  const t = await TestLab.start({ overrides: { faults: [{ kind: 'armLroFails', op: 'delete', code: 'InternalServerError' }] } });
  try {
    const run = await t.apply('planned-failover', { sets: [...FAST, 'dropLinkAfter=true'] });
    assert.is(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stdout, /FAILED\s+\d+\.\s+remove-link/);
    assert.match(run.stdout, /Changed: .*failover/);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    assert.is(t.linkPresent().managedInstance, true, 'the failed delete left the link on the MI');
    assert.not.ok(t.lab.statements().some((s) => /^\s*DROP\s+AVAILABILITY/i.test(s.statement)), 'SQL Server side not dropped after a failed delete');
    assertPlannedInvariants(t, 'arm-lro-failed');
    assertTrueSummary(t, run.stdout, run.code, 'arm-lro-failed');
  } finally {
    await t.stop();
  }
});

test('forced failover on a live old primary without reverseRoles: two primaries, and the output says so', async () => {
  const t = await TestLab.start();
  try {
    const run = await t.apply('forced-failover', { allowDataLoss: 'dag1' });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' });
    assert.match(run.stdout, /SPLIT-BRAIN: sqlServer is still up and still PRIMARY/);
    assert.is(t.lab.statements().filter((s) => /FORCE_FAILOVER_ALLOW_DATA_LOSS/i.test(s.statement)).length, 1);
  } finally {
    await t.stop();
  }
});

test.run();
