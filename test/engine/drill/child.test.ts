// stopThenResume (engine/drill/child.ts), the drill's kill-then-resume, with a stand-in process
// whose journal and exit the test writes: whether a kill counts as fired is decided by what the
// run's journal says, not by the signal alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stepsReached, stopThenResume, type ChildResult, type ChildRun, type StartRun } from '../../../engine/drill/child.js';
import { tempDir } from '../../helpers/cli.js';

/**
 * A stand-in for `runbook apply`: it journals `records` under run id `id` (pid `pid`) at once,
 * then ends when signalled, with that signal; every start is counted in `starts`.
 */
function standIn(journalDir: string, records: Array<Record<string, unknown>>, starts: string[][]): StartRun {
  let pid = 4000;
  return (args) => {
    starts.push(args);
    const own = ++pid;
    const id = `20261207T000000Z-${own}`;
    mkdirSync(journalDir, { recursive: true });
    for (const r of [{ kind: 'run-started', runId: id, pid: own }, ...records]) appendFileSync(join(journalDir, `${id}.jsonl`), `${JSON.stringify(r)}\n`);
    let end: (r: ChildResult) => void = () => undefined;
    const done = new Promise<ChildResult>((resolve) => (end = resolve));
    const result = (signal: NodeJS.Signals | null, code: number | null): ChildResult => ({ code, signal, stdout: '', stderr: '', startedAt: 0, endedAt: 0, timedOut: false, pid: own });
    // A resume is not signalled: it ends at once.
    if (args[1] === '--resume') end(result(null, 0));
    const run: ChildRun = { pid: own, kill: (signal) => end(result(signal, null)), done, stderrSoFar: () => '' };
    return run;
  };
}

test('a SIGKILL that lands after the run journaled its end is not a kill of the run: not fired, no resume (attack r5drill #2)', async () => {
  const journalDir = join(tempDir('runbook-drill-child-'), 'runs');
  const starts: string[][] = [];
  // The run reached its last step and finished before the kill arrived.
  const start = standIn(journalDir, [{ kind: 'step-started', step: 'last' }, { kind: 'step-finished', step: 'last' }, { kind: 'run-finished', status: 'succeeded' }], starts);
  const r = await stopThenResume(['apply', 'x.yml'], [], { env: {}, cwd: journalDir, journalDir, deadlineMs: 5000, reached: (records) => stepsReached(records()) >= 1, stop: 'kill', start });
  assert.is(r.first.signal, 'SIGKILL');
  assert.is(r.stopped, false);
  assert.is(r.resumed, undefined);
  assert.equal(starts.map((a) => a[1]), ['x.yml'], 'no resume was started');
});

test('a SIGKILL at a step boundary before the run ended is a kill: fired, then --resume', async () => {
  const journalDir = join(tempDir('runbook-drill-child-'), 'runs');
  const starts: string[][] = [];
  const start = standIn(journalDir, [{ kind: 'step-started', step: 'last' }], starts);
  const r = await stopThenResume(['apply', 'x.yml'], ['--yes'], { env: {}, cwd: journalDir, journalDir, deadlineMs: 5000, reached: (records) => stepsReached(records()) >= 1, stop: 'kill', start });
  assert.is(r.stopped, true);
  assert.is(r.resumed?.code, 0);
  assert.equal(starts.map((a) => a.slice(1)), [['x.yml'], ['--resume', r.runId!, '--yes']]);
});

test.run();
