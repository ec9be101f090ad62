// A run that ended in a split-brain (forced failover with the old primary up: its runbook's
// declared outcome) may be killed after its journal says it finished and before its summary,
// with the engine's SPLIT-BRAIN line, reached the screen. A resume of it is refused (nothing left
// to do), and says the split-brain the journal recorded, so the warning is not lost with the kill.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab, runbook } from '../helpers/child-runs.js';

test('a resume of a run that succeeded with both replicas PRIMARY is refused (exit 3) and repeats the engine\'s SPLIT-BRAIN warning from the journal', async () => {
  const lab = await ChildLab.start();
  try {
    const first = await lab.apply(runbook('forced-failover'), ['--set', 'sqlServerVersion=16.0.4125.3', '--allow-data-loss', 'dag1', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=5s']).done;
    assert.is(first.code, 0, first.stdout + first.stderr);
    assert.equal(lab.roles(), { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' });
    const resumed = await lab.cli(['apply', '--resume', lab.runIds()[0]!, '--yes']).done;
    assert.is(resumed.code, 3, resumed.stdout + resumed.stderr);
    assert.match(resumed.stderr, /it already succeeded; there is nothing left to do\. It left the link so: SPLIT-BRAIN: both replicas of link dag1 say PRIMARY\./);
  } finally {
    await lab.stop();
  }
});

test.run();
