// Fault matrix, resume after the world changed: a read made before a crash (here break-link's LSN
// wait) is a fact about that moment, and a resume must not remove the link on the strength of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../helpers/cli.js';
import { ChildLab, kinds, runbook, waitExit } from '../helpers/child-runs.js';

const BREAK_FAST = ['--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=1500ms'];

test('break-link killed after its LSN wait, the application writes again: --resume waits again and fails, nothing lost, the link stays; once quiet, a resume removes it', async () => {
  // The read of the managed instance's clock after the wait answers slowly: the kill lands while it
  // is in flight, after the wait and before the delete.
  const lab = await ChildLab.start({ overrides: { faults: [{ kind: 'slow', match: 'SYSDATETIME', delayMs: 3000, count: 1 }] } });
  try {
    const link = lab.lab.link();
    const deletes = () => lab.lab.armRequests().filter((r) => r.method === 'DELETE').length;
    const present = () => ({ sqlServer: link.replicas.sqlServer.dagPresent, managedInstance: link.replicas.managedInstance.dagPresent });

    const first = lab.apply(runbook('break-link'), BREAK_FAST);
    await lab.waitForRecord((r) => r.kind === 'step-finished' && r.step === 'caught-up');
    await waitFor(() => lab.lab.model.faults.fired()[0]! >= 1, 10_000);
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const runId = lab.runIds().at(-1)!;
    assert.is(deletes(), 0, 'killed before the delete');

    // The application starts writing again; the managed instance hardens its commits 300 ms late.
    link.setReplication({ lagMs: 300 });
    link.setWorkload(true, 50);
    const busy = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(busy.code, 1, busy.stdout + busy.stderr);
    assert.match(busy.stdout, /caught-up \(waitLsnStable, read\) again: it finished before the resume/);
    assert.match(busy.stdout, /FAILED caught-up/);
    assert.match(busy.stdout, /Nothing was changed\./);
    assert.is(deletes(), 0, 'no DELETE on a stale LSN wait');
    assert.equal(present(), { sqlServer: true, managedInstance: true });
    assert.is(lab.lab.ledger().lost, 0);

    // Quiet again: the workload stops and the managed instance catches up.
    link.setWorkload(false);
    await waitFor(() => (link.advance(), link.pending.length === 0), 5000);
    const quiet = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(quiet.code, 0, quiet.stdout + quiet.stderr);
    assert.match(quiet.stdout, /roles \(assertRole, read\) again/);
    assert.match(quiet.stdout, /workload-stopped \(confirm, read\) again/, "the operator is asked again (here: --yes)");
    assert.is(deletes(), 1);
    assert.equal(present(), { sqlServer: false, managedInstance: false });
    assert.is(lab.lab.ledger().lost, 0);
    assert.is(kinds(lab.records(runId)).filter((k) => k === 'step-started:caught-up').length, 3, 'the wait ran in each of the three runs');
  } finally {
    await lab.stop();
  }
});

test('a forced failover that left two primaries, resumed after its end record (a kill before its summary printed): the refusal says the SPLIT-BRAIN in the engine\'s words', async () => {
  // The drill's kill at the last step boundary lands here now and then: the killed run never
  // printed its notice and the resume only said "nothing left to do".
  const lab = await ChildLab.start();
  try {
    const run = await lab.applyInProcess(runbook('forced-failover'), ['--allow-data-loss', 'dag1', '--set', 'pollInterval=50ms']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(lab.roles(), { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' });
    const resumed = await lab.inProcess(['apply', '--resume', lab.runIds().at(-1)!, '--yes']);
    assert.is(resumed.code, 3, resumed.stdout + resumed.stderr);
    assert.match(resumed.stderr, /it already succeeded; there is nothing left to do\.\nAs its journal last read the link: SPLIT-BRAIN: both replicas of link dag1 say PRIMARY\./);
  } finally {
    await lab.stop();
  }
});

test.run();
