// runCase (engine/drill/run-case.ts) with a stand-in lab and process: a run whose process never
// began it (a drill worker that died loading) stops the drill as the drill's own failure, never a
// run judged on its exit code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildResult, StartRun } from '../../../engine/drill/child.js';
import { runCase, type DrillLab } from '../../../engine/drill/run-case.js';

const standInLab = (): DrillLab => ({
  inventory: { link: { name: 'dag1' } },
  env: {},
  statements: () => [],
  armRequests: () => [],
  ledger: () => ({ committed: 0, lost: 0 }),
  roles: () => ({ sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' }),
  setDown: () => undefined,
  stop: async () => undefined,
});

test('a run whose worker died before it began is the drill\'s failure, with what the worker said (attack r5drill #4: "exit 7, ok")', async () => {
  const died: ChildResult = { code: 7, signal: null, stdout: '', stderr: '', startedAt: 0, endedAt: 0, timedOut: false, harnessFailure: 'a drill worker (pid 1) ended before its run began (exit 7): boom' };
  const start: StartRun = () => ({ pid: undefined, kill: () => undefined, done: Promise.resolve(died), stderrSoFar: () => '' });
  const settings = { runbookFile: 'x.yml', facts: { name: 'x', dataLossSteps: [], declaresSplitBrain: false }, sets: [], deadlineMs: 5000, requestTimeoutMs: 1000, start };
  const error = await runCase({ id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' } }, 1, settings, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(error, 'runCase gave a record of a run that never began');
  assert.is(error!.name, 'DrillHarnessError');
  assert.is(error!.message, 'a drill worker (pid 1) ended before its run began (exit 7): boom');
});

test.run();
