// stopThenResume (engine/drill/child.ts), the drill's kill-then-resume, with a stand-in process
// whose journal and exit the test writes: whether a kill counts as fired is decided by what the
// run's journal says, not by the signal alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { stepsReached, stopThenResume } from '../../../engine/drill/child.js';
import { tempDir } from '../../helpers/cli.js';
import { standIn } from '../../helpers/drill-stand-in.js';

test('a SIGKILL that lands after the run journaled its end did not cut a step short: after the end, and resumed as an operator would (attack r5drill #2)', async () => {
  const journalDir = join(tempDir('runbook-drill-child-'), 'runs');
  const starts: string[][] = [];
  // The run reached its last step and finished before the kill arrived.
  const start = standIn([{ kind: 'step-started', step: 'last' }, { kind: 'step-finished', step: 'last' }, { kind: 'run-finished', status: 'succeeded' }], starts);
  const r = await stopThenResume(['apply', 'x.yml'], [], { env: { RUNBOOK_JOURNAL_DIR: journalDir }, cwd: journalDir, journalDir, deadlineMs: 5000, reached: (records) => stepsReached(records()) >= 1, stop: 'kill', start });
  assert.is(r.first.signal, 'SIGKILL');
  assert.is(r.stopped, true);
  assert.is(r.afterEnd, true);
  assert.equal(starts.map((a) => a[1]), ['x.yml', '--resume']);
});

test('a SIGKILL at a step boundary before the run ended is a kill: fired, then --resume', async () => {
  const journalDir = join(tempDir('runbook-drill-child-'), 'runs');
  const starts: string[][] = [];
  const start = standIn([{ kind: 'step-started', step: 'last' }], starts);
  const r = await stopThenResume(['apply', 'x.yml'], ['--yes'], { env: { RUNBOOK_JOURNAL_DIR: journalDir }, cwd: journalDir, journalDir, deadlineMs: 5000, reached: (records) => stepsReached(records()) >= 1, stop: 'kill', start });
  assert.is(r.stopped, true);
  assert.is(r.afterEnd, false);
  assert.is(r.resumed?.code, 0);
  assert.equal(starts.map((a) => a.slice(1)), [['x.yml'], ['--resume', r.runId!, '--yes']]);
});

test.run();
