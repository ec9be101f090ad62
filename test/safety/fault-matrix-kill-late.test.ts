// Fault matrix, SIGKILL at step boundaries of planned-failover (second half of its steps), then
// `apply --resume`: the resumed run finishes the failover, FAILOVER is never sent twice (a FAILOVER
// that may have happened is verified from the roles, not repeated), nothing committed is lost,
// and the resumed run's summary matches the lab.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestLab, runbookFile } from '../runbooks/lab-run.js';
import { assertPlannedInvariants, assertTrueSummary, isFailover, killAtStepThenResume, stepIdsOf, usePlannedRunbook } from './fault-matrix-helpers.js';

const FAST = ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=3s'];
const file = runbookFile('planned-failover');
usePlannedRunbook(file);
const ids = stepIdsOf(file);
const half = Math.ceil(ids.length / 2);

ids.forEach((id, i) => {
  const boundary = i + 1;
  if (!(boundary > half)) return;
  test(`SIGKILL when step ${boundary} (${id}) is reached, then --resume: one FAILOVER, nothing lost, roles swapped, exit 0`, async () => {
    const t = await TestLab.start();
    try {
      const { killed, first, resumed } = await killAtStepThenResume(t, boundary, FAST);
      const context = `kill at ${id}`;
      // Only the last step may finish before the kill lands.
      assert.ok(killed || boundary === ids.length, `${context}: the run ended before the kill`);
      if (!killed) {
        assert.is(first.code, 0, first.stdout + first.stderr);
      } else {
        assert.is(first.signal, 'SIGKILL');
        assert.ok(resumed, 'resumed');
        // A kill that lands after the journal's run-finished: resume says there is nothing left (exit 3).
        const alreadyDone = resumed!.code === 3 && /already succeeded/.test(resumed!.stderr);
        assert.ok(resumed!.code === 0 || alreadyDone, `${context}: resume exit ${resumed!.code}\n${resumed!.stdout}${resumed!.stderr}`);
        if (!alreadyDone) assertTrueSummary(t, resumed!.stdout, resumed!.code ?? -1, context);
      }
      assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' }, context);
      assert.is(t.lab.statements().filter((s) => isFailover(s.statement)).length, 1, `${context}: FAILOVER exactly once`);
      assertPlannedInvariants(t, context);
    } finally {
      await t.stop();
    }
  });
});

test.run();
