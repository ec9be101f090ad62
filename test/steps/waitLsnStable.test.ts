import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepFailure } from '../../engine/core/errors.js';
import { StepRefusal } from '../../engine/core/errors.js';
import type { Lab } from '../../lab/index.js';
import { labInventory } from '../../lab/inventory.js';
import waitLsnStable from '../../steps/waitLsnStable.js';
import { apartData } from '../../steps/support/lsn-wait-failure.js';
import { rejection, withLabHarness, type StepHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { within } from '../helpers/cli.js';

const fast = { stableFor: '300ms', pollInterval: '50ms', timeout: '3s' };

const lsnQueries = (lab: Lab, side: string) =>
  lab.statements().filter((s) => s.side === side && /end_of_log_lsn/.test(s.statement));

const businessCritical = labInventory(0, { tier: 'BusinessCritical' });

stepTester.run(waitLsnStable, {
  valid: [
    { stableFor: '300ms', pollInterval: '50ms', timeout: '3s' },
    { with: { stableFor: '{{inputs.stableFor}}', timeout: '10m' }, inputs: { stableFor: { type: 'string', default: '30s' } } },
  ],
  invalid: [
    { with: { stableFor: 'soon' }, errors: [{ code: 'bad-duration', path: '/with/stableFor', message: '"soon" is not a duration' }] },
    { with: { timeout: '99999h' }, errors: [{ code: 'bad-duration', path: '/with/timeout', message: 'longer than 24h' }] },
    { with: { stableFor: 30 }, errors: [{ code: 'wrong-type', path: '/with/stableFor' }] },
    { with: {}, target: 'primary', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      name: "the guard with its defaults and one query for both sides: the link's DAG by name, the local row, no is_primary_replica filter even on Business Critical",
      with: {},
      inventory: businessCritical,
      impact: 'read',
      summary: 'Wait until the LSNs of [SalesDb] match on both replicas and stay unchanged',
      guards: ['LSNs equal and unchanged for 30s (poll 1s, timeout 10m), the secondary resumed and, in synchronous commit, SYNCHRONIZED'],
      sql: [
        // @dag and @db are the statement's parameters (--format sql declares them), never spliced in.
        { target: 'sqlServer', text: [/^SELECT /, /ag\.is_distributed = 1 AND ag\.name = @dag AND drs\.is_local = 1 AND db\.name = @db;$/], params: { dag: 'dag1', db: 'SalesDb' } },
        { target: 'managedInstance', text: /ag\.is_distributed = 1 AND ag\.name = @dag AND drs\.is_local = 1 AND db\.name = @db;$/, params: { dag: 'dag1', db: 'SalesDb' } },
      ],
    },
    {
      with: { stableFor: '90s', timeout: unknown('inputs.t') },
      inventory: businessCritical,
      guards: ['LSNs equal and unchanged for 1m30s (poll 1s, timeout (known after apply)), the secondary resumed and, in synchronous commit, SYNCHRONIZED'],
    },
  ],
});

/**
 * Runs the wait with `timeout`, expecting it to fail; a wait still going `timeoutMs` plus a margin
 * later fails the test by name (a wait that ignored its timeout would otherwise hang the file until
 * the runner kills it) and is interrupted so the lab can stop. Every wait in this file expected to
 * time out goes through here (attack16 F1: two that did not hung the file).
 */
async function timesOut(h: StepHarness, timeout: string, timeoutMs: number, more: Record<string, string> = {}) {
  const controller = new AbortController();
  const running = rejection(() => h.run(waitLsnStable, { ...fast, ...more, timeout }, { signal: controller.signal }));
  try {
    return await within(running, timeoutMs + 4000, `waitLsnStable with timeout ${timeout}`);
  } finally {
    controller.abort(new Error('the test stopped waiting'));
  }
}

test('durations are format: duration in the schema', () => {
  for (const name of ['stableFor', 'pollInterval', 'timeout']) {
    assert.is((waitLsnStable.with.properties as Record<string, { format: string }>)[name]!.format, 'duration');
  }
});

test('healthy: succeeds with the matched LSN, exactly as the server has it', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (lab, h) => {
    const out = await h.run(waitLsnStable, fast);
    assert.is(out.lsn, '71000009408100001');
    assert.ok((out.samples as number) >= 2, 'at least two samples');
    assert.ok((out.waitedMs as number) >= 300, `waited ${out.waitedMs} ms`);
    assert.is(out.reconnects, 0);
    // The window in seconds with one decimal, the time spent and the time left before the timeout.
    assert.match(h.logs.progress.at(-1)!, /^LSNs equal for 0\.[3-9] s of 0\.3 s; \d+\.\d s elapsed, \d+(\.\d)? s left before the timeout\.$/);
    // What it found stays as an info line once the step ends.
    assert.match(h.logs.info.at(-1)!, /^LSNs equal at 71000009408100001 on sqlServer and managedInstance, unchanged for 0\.\d s \(waited \d+\.\d s, \d+ samples\)\.$/);
  });
});

test('workload-running: times out within its timeout plus a margin and says the primary is still moving', async () => {
  await withLabHarness({ scenario: 'workload-running' }, async (_lab, h) => {
    const started = Date.now();
    const error = await timesOut(h, '1500ms', 1500);
    const took = Date.now() - started;
    assert.instance(error, StepFailure);
    assert.is(error.messageId, 'apart');
    // The amount behind as the replicas report it (KB, seconds), never the raw LSN difference; the LSNs as detail.
    assert.match(error.message, /^LSNs did not match within 1\.5 s: the secondary managedInstance is behind the primary sqlServer \(\d+ KB of log not sent, \d+ s behind\); primary still moving, so the workload is not stopped\. Last read: primary end of log \d{17}, secondary hardened \d{17}\.$/);
    assert.not.match(error.message.replace(/\d{17}/g, ''), /\d{6,}/, 'no raw LSN difference');
    assert.ok(took >= 1500 && took < 4000, `took ${took} ms`);
    assert.match(h.logs.progress.join('\n'), /^Secondary managedInstance behind primary sqlServer \(\d+ KB of log not sent, \d+ s behind\)(, (growing|not shrinking|shrinking))?; \d+(\.\d)? s elapsed/m);
    assert.not.match(h.logs.progress.join('\n'), /\d{6,}/, 'no raw LSN difference');
  });
});

test('lagging: waits while the secondary catches up, then succeeds', async () => {
  await withLabHarness({ scenario: 'lagging' }, async (_lab, h) => {
    const out = await h.run(waitLsnStable, { ...fast, timeout: '6s' });
    assert.match(h.logs.progress[0], /^Secondary managedInstance behind primary sqlServer \(320 KB of log not sent, 0 s behind\); /); // 40 transactions behind
    // The lab's lagging secondary holds still, then catches up in one go.
    assert.ok(h.logs.progress.some((l) => /^Secondary managedInstance behind primary sqlServer \(320 KB of log not sent, 0 s behind\), not shrinking; /.test(l)), h.logs.progress.join('\n'));
    assert.match(h.logs.progress.at(-1)!, /^LSNs equal for /);
    assert.ok((out.waitedMs as number) >= 600, `waited ${out.waitedMs} ms`);
    assert.match(out.lsn as string, /^\d{17}$/);
    assert.is.not(out.lsn, '71000009408100001');
  });
});

test('whether the gap is shrinking: compared with the sample before, never shown as a number', () => {
  assert.equal(apartData(10n, undefined), { where: 'behind', trend: '' });
  assert.equal(apartData(5n, 10n), { where: 'behind', trend: ', shrinking' });
  assert.equal(apartData(10n, 10n), { where: 'behind', trend: ', not shrinking' });
  assert.equal(apartData(12n, 10n), { where: 'behind', trend: ', growing' });
  assert.equal(apartData(-3n, 0n), { where: 'ahead of', trend: '' });
  assert.equal(apartData(undefined, 4n), { where: 'not yet comparable with', trend: '' });
});

test('LSNs that differ only past the 16th digit are not equal', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (lab, h) => {
    // As doubles these are the same number; the step must still see the primary one ahead.
    const primary = lab.link().replicas.sqlServer;
    primary.endOfLog = 71000009408100002n;
    primary.hardened = 71000009408100002n;
    lab.model.bump();
    const error = await timesOut(h, '800ms', 800);
    assert.is(error.messageId, 'apart');
    assert.is(
      error.message,
      'LSNs did not match within 0.8 s: the secondary managedInstance is behind the primary sqlServer (0 KB of log not sent, 0 s behind); the primary is not moving, so replication to the secondary is stalled or slow. Last read: primary end of log 71000009408100002, secondary hardened 71000009408100001.',
    );
  });
});

test('a dropped connection mid-wait is survived, and the stability window starts again after it', async () => {
  await withLabHarness(
    { scenario: 'healthy', overrides: { faults: [{ kind: 'dropConnection', replica: 'managedInstance', match: 'end_of_log_lsn', nth: 3, count: 1 }] } },
    async (lab, h) => {
      const out = await h.run(waitLsnStable, fast);
      assert.is(out.reconnects, 1);
      assert.match(h.logs.progress.join('\n'), /Sample failed \(.*\); trying again\./);
      const mi = lsnQueries(lab, 'managedInstance');
      const dropped = mi[2];
      const last = mi.at(-1)!;
      assert.ok(last.at.getTime() - dropped.at.getTime() >= 300, 'a full window after the failure');
      assert.ok(new Set(mi.map((s) => s.sessionId)).size >= 2, 'reconnected on a new session');
    },
  );
});

test('business-critical: both replicas are read by the DAG and is_local = 1, not is_primary_replica (which would keep the MI\'s own AG row)', async () => {
  await withLabHarness({ scenario: 'business-critical' }, async (lab, h) => {
    const out = await h.run(waitLsnStable, fast);
    assert.is(out.lsn, '71000009408100001');
    for (const side of ['sqlServer', 'managedInstance']) {
      assert.ok(lsnQueries(lab, side).every((s) => /ag\.name = @dag AND drs\.is_local = 1/.test(s.statement) && !/is_primary_replica/.test(s.statement)));
    }
  });
});

// Issue 10, point 1: the MI as primary lists SQL Server's row (is_local = 0) first, then its own
// AG's row, then the link's. Taking the first row compared SQL Server's LSN with itself.
test("mi-primary: the MI's partner row and its own AG row are not the link's; the wait sees SQL Server 30 transactions behind until it catches up", async () => {
  await withLabHarness({ scenario: 'mi-primary' }, async (lab, h) => {
    const out = await h.run(waitLsnStable, { ...fast, timeout: '6s' });
    assert.match(h.logs.progress[0], /^Secondary sqlServer behind primary managedInstance \(240 KB of log not sent, 0 s behind\); /);
    assert.ok((out.waitedMs as number) >= 1400, `waited ${out.waitedMs} ms for the catch-up at 1.5 s`);
    assert.is(out.lsn, lab.link().replicas.managedInstance.endOfLog.toString());
    assert.is(out.synchronousCommit, true);
  });
});

// Issue 10, point 1: a second link of SQL Server's database; SQL Server's rows of both DAGs.
test('second-link: only this link\'s rows count on SQL Server; the other link (caught up) does not make this one look caught up', async () => {
  await withLabHarness({ scenario: 'second-link' }, async (_lab, h) => {
    const out = await h.run(waitLsnStable, { ...fast, timeout: '6s' });
    assert.match(h.logs.progress[0], /^Secondary managedInstance behind primary sqlServer \(320 KB of log not sent, 0 s behind\); /, '40 transactions behind');
    assert.ok((out.waitedMs as number) >= 1400, `waited ${out.waitedMs} ms`);
  });
});

test('a stalled link with equal LSNs never counts: the secondary is NOT SYNCHRONIZING', async () => {
  await withLabHarness({ scenario: 'healthy', overrides: { replication: { stalled: true } } }, async (_lab, h) => {
    const error = await timesOut(h, '800ms', 800);
    assert.is(error.messageId, 'notReady');
    assert.is(
      error.message,
      'LSNs matched at 71000009408100001, but within 0.8 s the window never counted: the secondary managedInstance was NOT SYNCHRONIZING when last read (asynchronous commit); check that the link is connected and healthy.',
    );
    assert.match(h.logs.progress[0], /^Equal, but the secondary is NOT SYNCHRONIZING, so the window does not count\.$/);
  });
});

test('a suspended secondary with equal LSNs never counts, and the failure says not to resume blindly', async () => {
  await withLabHarness({ scenario: 'healthy', overrides: { replication: { resumeAfterSuspendMs: null } } }, async (lab, h) => {
    // A drill's order: the old primary demoted first, then the other side forced; nothing was pending.
    const link = lab.link();
    link.demote('sqlServer');
    link.forceFailover('managedInstance');
    lab.model.bump();
    const error = await timesOut(h, '800ms', 800);
    assert.is(error.messageId, 'notReady');
    assert.match(error.message, /the secondary sqlServer was suspended \(SUSPEND_FROM_PARTNER\) when last read .*resume it only once you know what it discards/);
  });
});

test('synchronous commit: both copies synchronous, the window counts once the secondary is SYNCHRONIZED; each sample carries its data', async () => {
  await withLabHarness(
    { scenario: 'lagging', overrides: { availabilityMode: { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' } } },
    async (_lab, h) => {
      const out = await h.run(waitLsnStable, { ...fast, timeout: '6s' });
      assert.is(out.synchronousCommit, true);
      const first = h.logs.progressData[0]!;
      assert.equal(
        { ...first },
        {
          primary: 'sqlServer', secondary: 'managedInstance', primaryLsn: '71000009472100001', secondaryLsn: '71000009408100001', gap: '64000000',
          equalForMs: 0, stableForMs: 300, synchronizationState: 'NOT SYNCHRONIZING', suspended: false, synchronousCommit: true,
          logSendQueueKb: '320', redoQueueKb: '0', secondaryLagSeconds: first.secondaryLagSeconds,
        },
      );
      assert.match(String(first.secondaryLagSeconds), /^\d+$/);
      const last = h.logs.progressData.at(-1)!;
      assert.is(last.synchronizationState, 'SYNCHRONIZED');
      assert.is(last.gap, '0');
      assert.is(last.logSendQueueKb, '0');
      assert.is(h.logs.progressData.length, h.logs.progress.length, 'data with every sample line');
    },
  );
});

// The drill's wait (demoted: the old primary set to SECONDARY first): mutation testing found both
// of its timeouts untested (npm run mutate, the waitLsnStable group).
test('demoted, log still unsent at the timeout: fails saying nothing was forced and how to go back', async () => {
  await withLabHarness({ scenario: 'lagging', overrides: { replication: { stalled: true } } }, async (lab, h) => {
    lab.link().demote('sqlServer');
    const error = await timesOut(h, '800ms', 800, { demoted: 'sqlServer' });
    assert.is(error.messageId, 'demotedApart');
    assert.match(error.message, /^The side managedInstance did not harden all the log of sqlServer \(set to SECONDARY\) within [^:]+: .*Nothing was forced, so nothing is lost/);
  });
});

test('demoted, LSNs equal but not for stableFor within the timeout: the ordinary timeout failure, not the unsent-log one', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (lab, h) => {
    lab.link().demote('sqlServer');
    const error = await timesOut(h, '800ms', 800, { demoted: 'sqlServer', stableFor: '10s' });
    assert.is(error.messageId, 'notStable');
  });
});

test('split-brain is refused at once, not waited out', async () => {
  await withLabHarness({ scenario: 'split-brain' }, async (_lab, h) => {
    const started = Date.now();
    const error = await rejection(() => h.run(waitLsnStable, fast));
    assert.instance(error, StepRefusal);
    assert.match(error.message, /both replicas say PRIMARY/);
    assert.ok(Date.now() - started < 2000);
  });
});

test('an interrupt ends the wait promptly', async () => {
  await withLabHarness({ scenario: 'workload-running' }, async (_lab, h) => {
    const controller = new AbortController();
    const pending = h.run(waitLsnStable, { ...fast, timeout: '30s' }, { signal: controller.signal });
    const until = Date.now() + 5000;
    while (h.logs.progress.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const aborted = Date.now();
    controller.abort(new Error('Interrupted.'));
    const error = await rejection(() => pending);
    assert.is(error.message, 'Interrupted.');
    assert.ok(Date.now() - aborted < 1000, 'stopped within a second');
  });
});

test.run();
