// runCase (engine/drill/run-case.ts) with a stand-in lab and process: a run whose process never
// began it (a drill worker that died loading) stops the drill as the drill's own failure, never a
// run judged on its exit code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildResult, StartRun } from '../../../engine/drill/child.js';
import { runCase, type DrillLab, type RunSettings } from '../../../engine/drill/run-case.js';
import { standIn } from '../../helpers/drill-stand-in.js';

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

const SETTINGS: RunSettings = { runbookFile: 'x.yml', facts: { name: 'x', dataLossSteps: [], declaresSplitBrain: false }, sets: [], deadlineMs: 5000, requestTimeoutMs: 1000 };

test('a kill at the last step that lands after the run journaled its end is not fired; one that lands before is (attack r5drill #2)', async () => {
  const killAtLast = { id: 'healthy/kill-at-1-last', scenario: 'healthy', fault: { kind: 'kill-at-step' as const, boundary: 1, step: 'last' } };
  const last = [{ kind: 'step-started', step: 'last' }];
  const late = await runCase(killAtLast, 1, { ...SETTINGS, start: standIn([...last, { kind: 'step-finished', step: 'last' }, { kind: 'run-finished' }], []) }, async () => standInLab());
  assert.is(late.fired, false);
  assert.equal(late.record.invocations.map((i) => [i.role, i.code, i.signal]), [['first', null, 'SIGKILL'], ['resume', 0, null]]);
  const inStep = await runCase(killAtLast, 1, { ...SETTINGS, start: standIn(last, []) }, async () => standInLab());
  assert.is(inStep.fired, true);
});

test('a run whose worker died before it began is the drill\'s failure, with what the worker said (attack r5drill #4: "exit 7, ok")', async () => {
  const died: ChildResult = { code: 7, signal: null, stdout: '', stderr: '', startedAt: 0, endedAt: 0, timedOut: false, harnessFailure: 'a drill worker (pid 1) ended before its run began (exit 7): boom' };
  const start: StartRun = () => ({ pid: undefined, kill: () => undefined, done: Promise.resolve(died), stderrSoFar: () => '' });
  const settings = { ...SETTINGS, start };
  const error = await runCase({ id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' } }, 1, settings, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(error, 'runCase gave a record of a run that never began');
  assert.is(error!.name, 'DrillHarnessError');
  assert.is(error!.message, 'a drill worker (pid 1) ended before its run began (exit 7): boom');
});

test.run();
