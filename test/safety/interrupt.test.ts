// Ctrl-C / SIGTERM: a read-only wait stops at once (exit 130, the journal says where); a FAILOVER
// in flight is a non-safe section: it is finished before the run stops, and a second Ctrl-C only warns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../helpers/cli.js';
import { ChildLab, FAILOVER, kinds, runbook, STAYS_IN_WAIT, stepRecord, SYNC_COMMIT } from '../helpers/child-runs.js';

test('SIGINT during waitLsnStable: exit 130, nothing changed, the journal says where it stopped', async () => {
  const lab = await ChildLab.start();
  try {
    const { run } = await lab.applyUntil(runbook('planned-failover'), STAYS_IN_WAIT, () => lab.records().some(stepRecord('caught-up')));
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.is(r.code, 130, r.stdout + r.stderr);
    // Said as it is: the wait is cut short at once, not at a boundary it would wait for.
    assert.match(r.stderr, /SIGINT: stopping now: no change is in progress, so a read under way is cut short and no further step starts \(Ctrl-C again to exit at once\)/);
    assert.is(lab.count(SYNC_COMMIT) + lab.count(FAILOVER), 0, 'no change after the interrupt');
    const recs = lab.records();
    assert.ok(recs.some((x) => x.kind === 'interrupted' && x.stoppedBefore === 'caught-up'));
    const end = recs.at(-1)!;
    assert.is(end.kind, 'run-finished');
    assert.is(end.exitCode, 130);
    assert.match(end.stoppedAt, /during step caught-up/);
  } finally {
    await lab.stop();
  }
});

test('SIGINT (twice) while FAILOVER is in flight: it is finished, then the run stops before the next step', async () => {
  const lab = await ChildLab.start({ overrides: { faults: [{ kind: 'slow', match: 'FAILOVER', delayMs: 1500, count: 1 }] } });
  try {
    const run = lab.apply(runbook('planned-failover'), ['--set', 'stableFor=300ms', '--set', 'pollInterval=50ms']);
    // Listening from the start: a listener added after the SIGINT can miss the line it answers with.
    let stderr = '';
    run.child.stderr!.on('data', (d) => (stderr += d));
    await lab.waitForRecord((r) => r.kind === 'step-started' && r.step === 'failover');
    run.child.kill('SIGINT');
    await waitFor(() => /stopping after step failover/.test(stderr), 5000);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.is(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stderr, /Press Ctrl-C once more to abandon it anyway/, "the key as the operator knows it, not the signal name");
    assert.is(lab.count(FAILOVER), 1);
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' }, 'the FAILOVER was not cancelled');
    const k = kinds(lab.records());
    assert.ok(k.includes('step-finished:failover'), k.join(' '));
    assert.ok(!k.includes('step-started:after'), 'stopped at the safe point after the failover');
    assert.ok(lab.records().some((x) => x.kind === 'interrupted' && x.stoppedBefore === 'after'));
  } finally {
    await lab.stop();
  }
});

test.run();
