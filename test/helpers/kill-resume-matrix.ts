// The SIGKILL-then-resume fault matrix over planned-failover's step boundaries, registered per half
// of the steps so that each half runs in its own test file (each file stays under a minute).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestLab, runbookFile } from './lab-run.js';
import { assertPlannedInvariants, assertTrueSummary, isFailover, killAtStepThenResume, matrixWorkers, stepIdsOf, usePlannedRunbook } from './fault-matrix.js';
import type { WorkerPool } from '../../engine/drill/workers.js';

const FAST = ['stoppedFor=200ms', 'stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=3s'];

/** Registers one test per step boundary in the first (`early`) or second (`late`) half of the steps. */
export function killAtStepMatrix(part: 'early' | 'late'): void {
  const file = runbookFile('planned-failover');
  usePlannedRunbook(file);
  const ids = stepIdsOf(file);
  const half = Math.ceil(ids.length / 2);
  let workers: WorkerPool | undefined;
  test.before(() => void (workers = matrixWorkers()));
  test.after(() => workers?.close());

  ids.forEach((id, i) => {
    const boundary = i + 1;
    if (part === 'early' ? !(boundary <= half) : !(boundary > half)) return;
    test(`SIGKILL when step ${boundary} (${id}) is reached, then --resume: one FAILOVER, nothing lost, roles swapped, exit 0`, async () => {
      const t = await TestLab.start();
      try {
        const { killed, afterEnd, first, resumed } = await killAtStepThenResume(t, boundary, FAST, (args, opts) => workers!.start(args, opts));
        const context = `kill at ${id}`;
        // The run is held at the boundary for the kill: every boundary, the last one too, is killed before the run's end.
        assert.ok(killed, `${context}: the run ended before the kill (exit ${first.code})`);
        assert.not.ok(afterEnd, `${context}: the kill landed after the run journaled its end`);
        assert.is(first.signal, 'SIGKILL');
        assert.ok(resumed, 'resumed');
        assert.is(resumed!.code, 0, `${context}: resume exit ${resumed!.code}\n${resumed!.stdout}${resumed!.stderr}`);
        assertTrueSummary(t, resumed!.stdout, resumed!.code ?? -1, context);
        assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' }, context);
        assert.is(t.lab.statements().filter((s) => isFailover(s.statement)).length, 1, `${context}: FAILOVER exactly once`);
        assertPlannedInvariants(t, context);
      } finally {
        await t.stop();
      }
    });
  });
}
