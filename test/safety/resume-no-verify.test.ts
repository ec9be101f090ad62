// A resume of a run killed while a change without `verify:` was on its way: the step may have acted
// and cannot be verified, so the resume refuses it (nothing sent). It used to ask the step's verify
// again and again for the whole outcome deadline (120 s by default) first, though a sqlExec without
// `verify:` answers "unknown" every time (attack r5lock; engine/apply/resume.ts verifyFirst).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab, SYNC_COMMIT, waitExit, writeNoVerifyRunbook } from '../helpers/child-runs.js';

test('a change killed on its way, without verify: the resume refuses it at once (exit 3), not after the whole outcome deadline', async () => {
  const lab = await ChildLab.start();
  try {
    const pin = lab.lab.hold({ match: SYNC_COMMIT, side: 'sqlServer' });
    const first = lab.apply(writeNoVerifyRunbook(lab.dir));
    await Promise.race([pin.reached, first.done.then((r) => Promise.reject(new Error(`the run ended before its change was held: ${r.stdout}${r.stderr}`)))]);
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    pin.release();
    const runId = lab.runIds()[0]!;
    // A deadline long enough to tell apart: the old code asked for all of it.
    const deadlineS = 30;
    const started = Date.now();
    const r = await lab.inProcess(['apply', '--resume', runId, '--yes', '--outcome-timeout', `${deadlineS}s`], 60_000);
    const tookMs = Date.now() - started;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 3, out);
    assert.match(out, /step sync \(sqlExec\) may already have acted: the journal shows it started and never finished, and its verification could not tell/);
    assert.not.match(out, /asking again/, 'the step was asked once');
    assert.ok(tookMs < deadlineS * 1000, `the resume ended before the outcome deadline (${tookMs} ms)`);
    const verified = lab.records(runId).filter((x) => x.kind === 'step-verified' && x.step === 'sync');
    assert.is(verified.length, 1);
    assert.is(verified[0]!.result, 'unknown');
  } finally {
    await lab.stop();
  }
});

test.run();
